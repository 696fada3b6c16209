"""What ingestion needs of a message source: an MQTT session (Mosquitto) or JetStream partitions (NATS)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from monitoring.ingest.records import Inbound


class Source(Protocol):
    host: str
    port: int

    @property
    def connected(self) -> bool: ...

    @property
    def subscribed(self) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def next_batch(self, max_size: int, flush_s: float) -> list[Inbound]: ...

    def oldest_pending(self) -> datetime | None: ...

    def acknowledge(self, batch: Sequence[Inbound]) -> None: ...
