"""Running ingestion in-process against the real Mosquitto, and waiting for what it should do."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from devices.client import BrokerAddress, DeviceClient
from devices.outbox import Outbox
from monitoring.config import IngestSettings, MqttSettings
from monitoring.detection.base import Detector
from monitoring.ingest.mqtt import MqttSource
from monitoring.ingest.records import Inbound
from monitoring.storage.db import Database
from monitoring.storage.models import Reading
from monitoring.worker import IngestService
from tests.pipeline_support import make_pipeline
from tests.services import MQTT_URL


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], *, timeout_s: float = 20, what: str = ""
) -> None:
    """Poll ``check`` (plain or async) until it holds; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await _holds(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or check}")
        await asyncio.sleep(0.05)


@dataclass(frozen=True, slots=True)
class Broker:
    """One test's private corner of the shared broker: its own topic root and client id."""

    topic_root: str
    client_id: str
    outbox_dir: Path

    @classmethod
    def fresh(cls, outbox_dir: Path) -> Broker:
        tag = uuid.uuid4().hex[:10]
        return cls(topic_root=f"e2e{tag}", client_id=f"ingest-{tag}", outbox_dir=outbox_dir)

    def mqtt_settings(self) -> MqttSettings:
        # Short session expiry: a test's leftover session must not linger on a shared broker.
        return MqttSettings(
            url=MQTT_URL, client_id=self.client_id, topic_root=self.topic_root, session_expiry_s=300
        )

    def address(self) -> BrokerAddress:
        host, port, username, password = self.mqtt_settings().endpoint()
        return BrokerAddress(host, port, username, password)

    def device(self, serial: str, kind: str = "wearable") -> DeviceClient:
        """A started device client with its own outbox; ``record`` then ``flush`` to send."""
        outbox = Outbox(self.outbox_dir / f"{serial}-{uuid.uuid4().hex[:6]}.db")
        client = DeviceClient(serial, self.address(), outbox, kind=kind, root=self.topic_root)
        client.start()
        return client


class _Unacknowledging(MqttSource):
    """A source that never acknowledges: what a process that dies after storing looks like."""

    def acknowledge(self, batch: Sequence[Inbound]) -> None:
        return None


@asynccontextmanager
async def ingestion(
    database: Database,
    broker: Broker,
    *,
    acknowledge: bool = True,
    detectors: Sequence[Detector] | None = None,
) -> AsyncIterator[IngestService]:
    """The ingestion service running on this event loop until the block ends (by default with the
    threshold detector only; ``detectors`` for others)."""
    settings = broker.mqtt_settings()
    source = MqttSource(settings) if acknowledge else _Unacknowledging(settings)
    pipeline = make_pipeline(database, broker.topic_root, detectors=detectors)
    service = IngestService(source, pipeline, IngestSettings(flush_ms=5))
    await source.start()
    task = asyncio.create_task(service.run())
    try:
        await eventually(lambda: source.subscribed, timeout_s=10, what="ingestion to subscribe")
        yield service
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await source.stop()


async def _holds(check: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = check()
    return await result if inspect.isawaitable(result) else bool(result)


async def stored_readings(database: Database) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Reading)) or 0)
