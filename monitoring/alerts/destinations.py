"""Where webhooks may send: public addresses only (no server-side request forgery).

A webhook URL is the caller's choice, and the service POSTs to it from inside
the hospital's network. So its host must resolve only to public addresses: not
loopback, private, link-local (which holds cloud metadata at 169.254.169.254),
shared, multicast, reserved or unspecified, in IPv4 or IPv6 (IPv4-mapped
included). It is checked when the webhook is registered and again at each
delivery, after resolving the name, and the request then goes to the address
that was checked (the name is kept for the Host header and TLS), so a name
that is made to resolve inward later is refused too. Development and test may
allow loopback, only through ``RPM_ALERTS__WEBHOOK_ALLOW_LOOPBACK``.

>>> refusal(ipaddress.ip_address("169.254.169.254"), allow_loopback=False)
'link-local'
>>> refusal(ipaddress.ip_address("::ffff:10.0.0.1"), allow_loopback=False)
'private'
>>> refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
True
>>> refusal(ipaddress.ip_address("93.184.215.14"), allow_loopback=False) is None
True
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitoring.errors import InvalidRequestError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> its addresses; the system's resolver unless a test gives its own.
Resolver = Callable[[str, int], Awaitable[list[Address]]]


class UnsafeDestinationError(InvalidRequestError):
    """The URL would make the service send requests somewhere inside, or it cannot be checked."""


def refusal(address: Address, *, allow_loopback: bool) -> str | None:
    """Why the service must not send to ``address``; None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    checks = (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally reachable", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked URL: where to connect (``address``) and what to call the host (Host, TLS name)."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query
    address: Address
    userinfo: str = ""  # user:password for HTTP Basic, kept as the URL gave it

    def pinned_url(self) -> str:
        """The URL with the checked address in place of the name (credentials kept for Basic auth)."""
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        credentials = f"{self.userinfo}@" if self.userinfo else ""
        return f"{self.scheme}://{credentials}{host}:{self.port}{self.target}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


async def system_resolve(host: str, port: int) -> list[Address]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeDestinationError(f"{host} does not resolve: {error}") from error
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))


async def check(
    url: str, *, allow_loopback: bool, require_https: bool, resolve: Resolver = system_resolve
) -> Destination:
    """Resolve ``url``'s host and make sure every address it has is one the service may send to."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (require_https and parts.scheme != "https"):
        raise UnsafeDestinationError("webhooks must use https" if require_https else "use an http(s) URL")
    if not parts.hostname:
        raise UnsafeDestinationError("the webhook URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeDestinationError(f"the webhook URL's port is not valid: {error}") from error
    addresses = await _resolve(parts.hostname, port, resolve)
    for address in addresses:
        why = refusal(address, allow_loopback=allow_loopback)
        if why is not None:
            raise UnsafeDestinationError(
                f"{parts.hostname} resolves to a {why} address; webhooks go to public addresses only"
            )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    userinfo = parts.netloc.rpartition("@")[0]
    return Destination(url, parts.scheme, parts.hostname, port, target, addresses[0], userinfo)


def shown(url: str) -> str:
    """The URL as the API shows it: any password in it masked.

    >>> shown("https://hook:s3cret@receiver.example/in")
    'https://hook:***@receiver.example/in'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


async def _resolve(host: str, port: int, resolve: Resolver) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    addresses = await resolve(host, port)
    if not addresses:
        raise UnsafeDestinationError(f"{host} has no address")
    return addresses
