"""Stage two on NATS: a worker reads the partitions it leases, and nothing else.

One fetch loop per leased partition pulls from that partition's durable
consumer into one queue; the ingestion loop takes batches from it exactly as
from an MQTT session, and acknowledges after commit. Each message remembers
its partition, so a partition can be closed cleanly (stop fetching, wait
until what was fetched is stored and acknowledged) before it is handed over,
or discarded at once when its lease was lost (unacknowledged, JetStream gives
it to the next holder).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence, Set
from datetime import datetime
from functools import partial
from typing import Any

import nats.errors
from nats.aio.msg import Msg

from monitoring.ingest.backlog import Backlog
from monitoring.ingest.nats_bundle import unpack
from monitoring.ingest.nats_link import NatsLink, Puller
from monitoring.ingest.nats_progress import InProgress
from monitoring.ingest.nats_router import Router
from monitoring.ingest.records import Inbound

log = logging.getLogger(__name__)

_FETCH = 50  # bundles: each holds one route batch's messages for this partition


class JetStreamSource:
    def __init__(self, link: NatsLink, router: Router, progress: InProgress) -> None:
        self.link = link
        self.router = router
        self.progress = progress
        self.host, self.port = link.first_server
        self._backlog = Backlog()
        self._fetchers: dict[int, asyncio.Task[None]] = {}
        self._routers: dict[int, asyncio.Task[None]] = {}
        self._closing: set[int] = set()
        self._in_flight: Counter[int] = Counter()
        self._acks: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return bool(self.link.client.is_connected)

    @property
    def subscribed(self) -> bool:
        """Reading every partition it leases (streams and the cluster's mappings were checked at start)."""
        return all(not task.done() for task in (*self._fetchers.values(), *self._routers.values()))

    @property
    def partitions(self) -> set[int]:
        return set(self._fetchers)

    async def start(self) -> None:
        """Nothing to do until partitions are opened."""

    async def stop(self) -> None:
        await self.discard(set(self._fetchers))
        if self._acks:
            await asyncio.gather(*self._acks, return_exceptions=True)

    async def open(self, partitions: Set[int]) -> None:
        for partition in sorted(partitions):
            if partition in self._fetchers:
                continue
            await self.link.ensure_partition_consumer(partition)
            self._fetchers[partition] = asyncio.create_task(
                self._supervise(partition, "fetch", partial(self._fetch_forever, partition)),
                name=f"fetch-{partition}",
            )
            self._routers[partition] = asyncio.create_task(
                self._supervise(
                    partition, "route", partial(self.router.run, partition, self._stopping(partition))
                ),
                name=f"route-{partition}",
            )

    def _stopping(self, partition: int) -> Callable[[], bool]:
        return lambda: partition in self._closing

    async def _supervise(
        self, partition: int, what: str, loop: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        """Run ``loop`` until the partition closes; whatever it dies of is logged and it starts again."""
        while partition not in self._closing:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except nats.errors.ConnectionClosedError:
                return  # shutting down
            except Exception:
                log.exception("%s loop of partition %d failed; starting it again", what, partition)
                await asyncio.sleep(1.0)
            else:
                if self.link.client.is_closed:
                    return

    async def close(self, partitions: Set[int], timeout_s: float = 60.0) -> None:
        """Stop fetching, then wait until everything fetched from ``partitions`` is acknowledged."""
        self._closing |= set(partitions)
        tasks = [task for p in partitions for task in (self._fetchers.get(p), self._routers.get(p)) if task]
        await asyncio.gather(*tasks, return_exceptions=True)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while any(self._in_flight[p] for p in partitions):
            if asyncio.get_running_loop().time() > deadline:
                log.error("partitions %s: messages still unacknowledged; handed over", sorted(partitions))
                break
            await asyncio.sleep(0.05)
        if self._acks:
            await asyncio.gather(*self._acks, return_exceptions=True)
        await self.link.client.flush(timeout=5)
        for partition in partitions:
            self._fetchers.pop(partition, None)
            self._routers.pop(partition, None)
            self._in_flight.pop(partition, None)
        self._closing -= set(partitions)

    async def discard(self, partitions: Set[int]) -> None:
        """Stop at once; what was fetched and not yet taken is dropped unacknowledged (redelivered)."""
        for partition in partitions:
            for task in (self._fetchers.pop(partition, None), self._routers.pop(partition, None)):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            self._in_flight.pop(partition, None)
        self.progress.release(inbound.reply for inbound in self._backlog.drop(set(partitions)))

    async def _fetch_forever(self, partition: int) -> None:
        puller = await Puller.bind(
            self.link.js,
            self.link.partition_consumer(partition),
            self.link.eval_stream,
            f"fetch from partition {partition}",
        )
        try:
            while partition not in self._closing:
                # One budget for every partition's fetch: what is queued waits its turn.
                wanted = self._backlog.share(len(self._fetchers), _FETCH)
                if not wanted:
                    await self._backlog.wait_for_room()
                    continue
                messages = await puller.next(wanted)
                if messages:
                    self._take(partition, messages)
        finally:
            await puller.close()

    def _take(self, partition: int, messages: Sequence[Msg]) -> None:
        taken = 0
        for message in messages:
            entries = unpack(message.data)
            # The bundle's acknowledgement goes with its last message: sent once all are stored.
            self._backlog.put(
                len(message.data),
                (
                    Inbound(
                        topic=topic,
                        payload=payload,
                        received_at=received_at,
                        reply=message.reply if i == 0 else "",
                        partition=partition,
                    )
                    for i, (topic, received_at, payload) in enumerate(entries, start=1 - len(entries))
                ),
            )
            taken += len(entries)
            self.progress.hold([message.reply])
        self._in_flight[partition] += taken

    async def next_batch(self, max_size: int, flush_s: float) -> list[Inbound]:
        """Wait for at least one message, then gather up to ``max_size`` for at most ``flush_s``."""
        return await self._backlog.take(max_size, flush_s)

    def oldest_pending(self) -> datetime | None:
        return self._backlog.oldest()

    def acknowledge(self, batch: Sequence[Inbound]) -> None:
        """A bundle is acknowledged with its last message (only that one carries its reply subject)."""
        replies = [inbound.reply for inbound in batch if inbound.reply]
        self.progress.release(replies)
        for inbound in batch:
            if inbound.partition in self._in_flight:
                self._in_flight[inbound.partition] -= 1
        if replies:
            task = asyncio.get_running_loop().create_task(self._send_acks(replies))
            self._acks.add(task)
            task.add_done_callback(self._acks.discard)

    async def _send_acks(self, replies: list[str]) -> None:
        try:
            for reply in replies:
                await self.link.client.publish(reply, b"+ACK")
        except nats.errors.Error as error:  # not acknowledged: redelivered, and stored once anyway
            log.warning("%d acknowledgements not sent: %s", len(replies), error)
