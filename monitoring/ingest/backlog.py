"""What a cluster worker has fetched and not yet taken into a batch, bounded by payload bytes.

Bytes, not messages, because the work is per reading and a message may hold
one reading (a CGM) or forty (a wearable's ten minutes): a bound of 5,000
messages took longer than the ack wait to store, and JetStream delivered them
all again (the realistic benchmark found it). About 80 bytes per reading: 1.5
MB is some 19,000 readings, about a second of one worker's work.

Every partition's fetch loop asks for its share of the room left, not for all
of it: 32 loops each sized to the whole room had queued twice the bound and
more (batches of 50,000 readings, which held the event loop for seconds).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Set
from datetime import datetime

from monitoring.ingest.records import Inbound
from monitoring.ingest.source import gather_batch, oldest

MOST_BYTES = 1_500_000


class Backlog:
    def __init__(self, most_bytes: int = MOST_BYTES) -> None:
        self.most_bytes = most_bytes
        self.bytes = 0
        self._items: deque[Inbound] = deque()
        self._bundle_bytes = 8_000.0  # a running mean of what one fetched message carries
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def __len__(self) -> int:
        return len(self._items)

    def share(self, loops: int, most: int) -> int:
        """How many messages one of ``loops`` fetch loops may ask for now (0: full, wait for room)."""
        room = self.most_bytes - self.bytes
        if room <= 0:
            return 0
        return min(most, 1 + int(room / (self._bundle_bytes * max(1, loops))))

    async def wait_for_room(self) -> None:
        while self.bytes >= self.most_bytes:
            self._room.clear()
            await self._room.wait()

    def put(self, fetched_bytes: int, entries: Iterable[Inbound]) -> None:
        """One fetched message (``fetched_bytes`` long) and the entries it carries."""
        self._bundle_bytes = 0.9 * self._bundle_bytes + 0.1 * fetched_bytes
        for inbound in entries:
            self._items.append(inbound)
            self.bytes += len(inbound.payload)
        self._arrived.set()

    async def take(self, max_size: int, flush_s: float) -> list[Inbound]:
        """Wait for at least one entry, then gather up to ``max_size`` for at most ``flush_s``."""
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()
        batch = await gather_batch(self._items, max_size, flush_s)
        self._taken(batch)
        return batch

    def drop(self, partitions: Set[int]) -> list[Inbound]:
        """Remove and return the entries of ``partitions``."""
        dropped = [inbound for inbound in self._items if inbound.partition in partitions]
        kept = [inbound for inbound in self._items if inbound.partition not in partitions]
        self._items.clear()
        self._items.extend(kept)
        self._taken(dropped)
        return dropped

    def oldest(self) -> datetime | None:
        return oldest(self._items)

    def _taken(self, entries: list[Inbound]) -> None:
        self.bytes -= sum(len(inbound.payload) for inbound in entries)
        if self.bytes < self.most_bytes:
            self._room.set()
