"""An in-process MQTT 3.1.1 broker (amqtt, pure Python) on a free loopback port, for the demo.

Every client signs in, as on the production Mosquitto: a device with its serial
and the password issued when it was registered (checked against the broker
hash in the registry), the ingestion service with its own account. The same
rules as Mosquitto's ACL (``registry.broker_auth``) decide topics: a device may
publish only on its own two topics and subscribe to nothing; the service reads
every device's topics and may clear a readings message a device retained.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from amqtt.broker import Broker
from amqtt.contexts import Action, BaseContext
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from devices.contract import CONTRACT_VERSION
from monitoring.registry.broker_auth import ServiceAccount, verify_broker_hash
from monitoring.registry.repository import broker_hashes
from monitoring.storage.db import Database

log = logging.getLogger(__name__)
SERVICE_USERNAME = "rpm-ingest"
_CACHE_S = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class BrokerAccess:
    """Who may sign in to the embedded broker and what each may do: the registry's rules."""

    def __init__(self, database: Database, service: ServiceAccount, root: str) -> None:
        self.database = database
        self.service = service
        self.base = f"{root}/v{CONTRACT_VERSION}/devices"
        self._hashes: dict[str, tuple[float, str | None]] = {}

    async def authenticate(self, username: str | None, password: str | None) -> bool:
        if not username or password is None:
            return False
        if username == self.service.username:
            return hmac.compare_digest(password.encode(), self.service.password.encode())
        stored = await self._hash(username)
        return stored is not None and await asyncio.to_thread(verify_broker_hash, stored, password)

    async def _hash(self, serial: str) -> str | None:
        now = time.monotonic()
        cached = self._hashes.get(serial)
        if cached is not None and now - cached[0] < _CACHE_S:
            return cached[1]
        async with self.database.sessions() as session:
            found = (await broker_hashes(session=session, serials=[serial])).get(serial)
        if len(self._hashes) > 10_000:
            self._hashes.clear()
        self._hashes[serial] = (now, found)
        return found

    def allows(self, username: str | None, topic: str, action: Action) -> bool:
        if action == Action.RECEIVE:
            return True  # what a client receives was decided when it subscribed
        if username == self.service.username:
            if action == Action.SUBSCRIBE:
                return topic in (f"{self.base}/+/readings", f"{self.base}/+/status")
            # Nightscout uploads published as their device; clearing a wrongly retained message.
            return _matches(topic, f"{self.base}/+/readings")
        if username is None or action == Action.SUBSCRIBE:
            return False
        return topic in (f"{self.base}/{username}/readings", f"{self.base}/{username}/status")


def _matches(topic: str, pattern: str) -> bool:
    parts, wanted = topic.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(w in ("+", p) for p, w in zip(parts, wanted, strict=True))


class _Plugins:
    """amqtt builds plugins from configuration by class path; they find their access rules here."""

    by_key: ClassVar[dict[str, BrokerAccess]] = {}


class RegistryAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt is untyped here
    @dataclass
    class Config:
        access_key: str = ""

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self.access = _Plugins.by_key[self.config.access_key]

    async def authenticate(self, *, session: Session) -> bool | None:
        return await self.access.authenticate(session.username, session.password)


class RegistryTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]  # amqtt is untyped here
    @dataclass
    class Config:
        access_key: str = ""

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self.access = _Plugins.by_key[self.config.access_key]

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool | None:
        if topic is None or action is None:
            return False
        return self.access.allows(session.username if session else None, topic, action)


class EmbeddedBroker:
    """Runs on the caller's event loop. It speaks MQTT 3.1.1 only and keeps sessions in memory."""

    def __init__(self, access: BrokerAccess, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.access = access
        self.host = host
        self.port = port or free_port(host)
        self._broker: Broker | None = None
        self._key = secrets.token_hex(8)

    @property
    def url(self) -> str:
        """Where ingestion connects, with its account."""
        service = self.access.service
        return f"mqtt://{service.username}:{service.password}@{self.host}:{self.port}"

    async def start(self) -> str:
        _Plugins.by_key[self._key] = self.access
        plugins: dict[str, Any] = {
            f"{__name__}.RegistryAuthPlugin": {"access_key": self._key},
            f"{__name__}.RegistryTopicPlugin": {"access_key": self._key},
        }
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": plugins,
        }
        # amqtt logs every connection at INFO; the demo's own log says what matters.
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("transitions").setLevel(logging.WARNING)
        self._broker = Broker(config)
        await self._broker.start()
        log.info("embedded MQTT broker listening on %s:%d (every client signs in)", self.host, self.port)
        return self.url

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
        _Plugins.by_key.pop(self._key, None)


def service_account() -> ServiceAccount:
    """The embedded broker's ingestion account, with a password made for this run."""
    return ServiceAccount(SERVICE_USERNAME, secrets.token_urlsafe(24))
