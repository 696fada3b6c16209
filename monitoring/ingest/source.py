"""What ingestion needs of a message source: an MQTT session (Mosquitto) or JetStream partitions (NATS)."""

from __future__ import annotations

import asyncio
from collections import deque
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


async def gather_batch(pending: deque[Inbound], max_size: int, flush_s: float) -> list[Inbound]:
    """With at least one message waiting: wait ``flush_s`` for more unless full, take up to ``max_size``."""
    if len(pending) < max_size and flush_s > 0:
        await asyncio.sleep(flush_s)
    batch: list[Inbound] = []
    while pending and len(batch) < max_size:
        batch.append(pending.popleft())
    return batch


def oldest(pending: deque[Inbound]) -> datetime | None:
    """When the oldest message waiting for a batch arrived."""
    try:
        return pending[0].received_at
    except IndexError:
        return None
