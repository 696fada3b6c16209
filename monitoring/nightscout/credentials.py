"""An uploader's two credentials, as Nightscout clients present them.

- The **API secret**: clients send the SHA-1 hex of it in the ``api-secret`` header.
- An **access token** (``<name>-<16 hex>``): sent as ``?token=`` or, by some client libraries,
  as ``api-secret: token=<token>``.

Both are random and shown once. Only SHA-256 digests are stored: of the SHA-1 hex for the
secret (so the digest can be checked against what clients send), and of the token. They are
long random strings, so a fast digest is enough; nothing here is a password.

>>> issued = issue("Cgm-0001")
>>> issued.token.startswith("cgm-0001-"), len(issued.api_secret) >= 24
(True, True)
>>> presented = hashlib.sha1(issued.api_secret.encode()).hexdigest()
>>> matches(issued.secret_digest, issued.token_digest, api_secret=presented.upper(), token=None)
True
>>> matches(issued.secret_digest, issued.token_digest, api_secret=None, token=issued.token)
True
>>> matches(issued.secret_digest, issued.token_digest, api_secret=issued.api_secret, token=None)
False
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_TOKEN_NAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Issued:
    api_secret: str
    token: str
    secret_digest: bytes
    token_digest: bytes


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def issue(serial: str) -> Issued:
    """New credentials for the uploader of device ``serial``."""
    api_secret = secrets.token_urlsafe(24)  # 32 characters; Nightscout asks for at least 12
    name = _TOKEN_NAME.sub("-", serial.lower()).strip("-")[:40] or "uploader"
    token = f"{name}-{secrets.token_hex(8)}"
    sha1_hex = hashlib.sha1(api_secret.encode()).hexdigest()
    return Issued(api_secret, token, _digest(sha1_hex), _digest(token))


def matches(secret_digest: bytes, token_digest: bytes, *, api_secret: str | None, token: str | None) -> bool:
    """Whether what the client presented is this uploader's secret (as SHA-1 hex) or token."""
    if api_secret is not None and hmac.compare_digest(_digest(api_secret.strip().lower()), secret_digest):
        return True
    return token is not None and hmac.compare_digest(_digest(token.strip()), token_digest)


def presented(*, header: str | None, query_token: str | None) -> tuple[str | None, str | None]:
    """(SHA-1 hex of a secret, token) from the ``api-secret`` header and the ``token`` parameter."""
    if header is not None and header.startswith("token="):
        return None, header.removeprefix("token=")
    return header, query_token
