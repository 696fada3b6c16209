"""The ingestion loop: batches from the broker through the pipeline, forever, whatever comes.

- The store is down: keep the batch, retry with back-off, acknowledge nothing;
  the broker holds the rest in the session. Readiness reports the outage.
- A batch fails for another reason: process its messages one by one, so one
  poison message becomes a dead letter and the others are stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from devices.contract import ErrorCode
from monitoring.config import IngestSettings
from monitoring.ingest import deadletter_repository as deadletters
from monitoring.ingest.records import DeadLetter, Inbound
from monitoring.ingest.source import Source
from monitoring.observability import metrics
from monitoring.pipeline import BatchResult, Pipeline, Stored

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATE classes that mean "the database is unavailable or busy", not "this data is bad".
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "58")
_TRANSIENT_SQLSTATES = ("40001", "40P01")


def is_store_outage(error: BaseException) -> bool:
    """True when retrying later can succeed: connection loss, shutdown, overload, deadlock."""
    if isinstance(error, OSError | TimeoutError | ConnectionError | OperationalError | InterfaceError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    cause: BaseException | None = error
    while cause is not None:
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and (
            state[:2] in _TRANSIENT_SQLSTATE_CLASSES or state in _TRANSIENT_SQLSTATES
        ):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


@dataclass(slots=True)
class IngestStats:
    batches: int = 0
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    alert_changes: int = 0

    def add(self, result: BatchResult) -> None:
        self.batches += 1
        self.messages += result.messages
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.dead_letters += result.dead_letters
        self.alert_changes += result.alert_changes


class IngestService:
    """Batches through the pipeline: the next one is stored while the one before it is in detection.

    Storing is mostly waiting for PostgreSQL and detection is all CPU, so the
    two overlap: while batches are waiting, each one's write goes out between
    the previous one's steps of detection. Batches are stored, acknowledged and
    evaluated in the order they were taken; one is evaluated only once the one
    before it is done.
    """

    def __init__(self, source: Source, pipeline: Pipeline, settings: IngestSettings) -> None:
        self.source = source
        self.pipeline = pipeline
        self.settings = settings
        self.stats = IngestStats()
        self.store_available = True
        self.store_outage_since: float | None = None
        self.last_error: str | None = None
        self._in_flight: list[Sequence[Inbound]] = []  # taken, not yet through detection
        # Held while batches go through the pipeline; a partition hand-over takes it
        # (between_batches) to restore, replay or save detector state with none in flight.
        self.lock = asyncio.Lock()
        self._waiting = 0  # hand-overs waiting for the lock: stop taking batches for them

    async def run(self) -> None:
        """Process batches until cancelled."""
        while True:
            batch = await self.source.next_batch(self.settings.max_batch, self.settings.flush_ms / 1000)
            if batch:
                self._in_flight.append(batch)  # a checkpoint's watermark counts it from now on
                async with self.lock:
                    await self._work(batch)

    @asynccontextmanager
    async def between_batches(self) -> AsyncIterator[None]:
        """With no batch in flight (every one taken is stored and evaluated), and none taken meanwhile."""
        self._waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self.lock.release()

    async def _work(self, batch: Sequence[Inbound]) -> None:
        """Store ``batch``; while it is in detection, store the next one if one is waiting; and so on."""
        stored = await self._store(batch, behind=None)
        while stored is not None:
            detecting = asyncio.create_task(self._evaluate(stored), name="detect")
            try:
                following = None
                if self.source.oldest_pending() is not None and not self._waiting:
                    after = await self.source.next_batch(self.settings.max_batch, 0)
                    if after:
                        self._in_flight.append(after)
                        following = await self._store(after, behind=detecting)
            except asyncio.CancelledError:
                detecting.cancel()
                raise
            except Exception:
                await detecting  # the source failed: finish what was stored before giving up
                raise
            await detecting
            stored = following

    def unevaluated_since(self) -> datetime | None:
        """When the oldest message received but not yet through detection arrived (None: there is none).

        A detector checkpoint is stamped with this time, not with the time it is
        saved: what arrived since may not be in it, and is replayed after a restart.
        """
        times = [inbound.received_at for batch in self._in_flight for inbound in batch]
        oldest = self.source.oldest_pending()
        if oldest is not None:
            times.append(oldest)
        return min(times, default=None)

    async def _retrying(self, attempt: Callable[[], Awaitable[T]], *, whatever: bool = False) -> T:
        """Run ``attempt`` again, with back-off, while the database is away (or, ``whatever``, on any error).

        Any other error is raised to the caller; readiness reports the outage meanwhile.
        """
        delay = 0.1
        while True:
            try:
                result = await attempt()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not (whatever or is_store_outage(error)):
                    raise
                self._store_down(error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_s)
            else:
                self._store_back()
                return result

    async def _store(self, batch: Sequence[Inbound], behind: asyncio.Task[None] | None) -> Stored | None:
        """Store and acknowledge a batch (None: it failed, and was taken one message at a time)."""
        try:
            return await self._retrying(lambda: self.pipeline.store(batch, self.source.acknowledge))
        except Exception:
            log.exception("batch of %d messages failed; isolating them", len(batch))
        if behind is not None:
            await behind  # one message at a time goes through detection too: in order
        await self._isolate(batch)
        self._done(batch)
        return None

    async def _evaluate(self, stored: Stored) -> None:
        """Detect on a stored batch and write its alerts."""
        try:
            self.stats.add(await self._retrying(lambda: self.pipeline.evaluate(stored)))
        except Exception:
            # Its readings are stored and acknowledged; what it found is written with the next.
            log.exception("detection failed on a batch of %d messages", len(stored.batch))
        finally:
            self._done(stored.batch)

    def _done(self, batch: Sequence[Inbound]) -> None:
        for i, held in enumerate(self._in_flight):
            if held is batch:
                del self._in_flight[i]
                return

    async def _isolate(self, batch: Sequence[Inbound]) -> None:
        """One message at a time, so that the one that fails becomes a dead letter and the rest are stored."""
        for inbound in batch:
            try:
                process = partial(self.pipeline.process, [inbound], self.source.acknowledge)
                self.stats.add(await self._retrying(process))
            except Exception as error:
                log.exception("message on %s could not be processed", inbound.topic)
                letter = DeadLetter.of(
                    inbound,
                    ErrorCode.PROCESSING_FAILED,
                    f"the service failed on this message: {error!r}",
                )
                await self._retrying(partial(self._store_dead_letter, letter, inbound), whatever=True)

    async def _store_dead_letter(self, letter: DeadLetter, inbound: Inbound) -> None:
        async with self.pipeline.db.unit_of_work() as session:
            await deadletters.insert_many(session=session, letters=[letter])
        self.source.acknowledge([inbound])
        self.stats.dead_letters += 1

    def _store_down(self, error: BaseException) -> None:
        if self.store_available:
            log.error("store unavailable, holding messages unacknowledged: %s", error)
            self.store_outage_since = time.monotonic()
        self.store_available = False
        metrics.STORE_AVAILABLE.set(0)
        self.last_error = f"{type(error).__name__}: {error}"[:300]

    def _store_back(self) -> None:
        if not self.store_available:
            log.info("store available again")
        self.store_available = True
        metrics.STORE_AVAILABLE.set(1)
        self.store_outage_since = None
