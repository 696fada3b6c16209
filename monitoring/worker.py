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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from devices.contract import ErrorCode
from monitoring.config import IngestSettings
from monitoring.ingest import deadletter_repository as deadletters
from monitoring.ingest.records import DeadLetter, Inbound
from monitoring.ingest.source import Source
from monitoring.observability import metrics
from monitoring.pipeline import BatchResult, Pipeline

log = logging.getLogger(__name__)

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
    def __init__(self, source: Source, pipeline: Pipeline, settings: IngestSettings) -> None:
        self.source = source
        self.pipeline = pipeline
        self.settings = settings
        self.stats = IngestStats()
        self.store_available = True
        self.store_outage_since: float | None = None
        self.last_error: str | None = None
        self._current: Sequence[Inbound] = ()
        # Held while a batch goes through the pipeline; a partition hand-over takes it to restore,
        # replay or save detector state between batches.
        self.lock = asyncio.Lock()

    async def run(self) -> None:
        """Process batches until cancelled."""
        while True:
            batch = await self.source.next_batch(self.settings.max_batch, self.settings.flush_ms / 1000)
            if batch:
                async with self.lock:
                    self._current = batch
                    await self._process(batch)
                    self._current = ()

    def unevaluated_since(self) -> datetime | None:
        """When the oldest message received but not yet through detection arrived (None: there is none).

        A detector checkpoint is stamped with this time, not with the time it is
        saved: what arrived since may not be in it, and is replayed after a restart.
        """
        times = [inbound.received_at for inbound in self._current]
        oldest = self.source.oldest_pending()
        if oldest is not None:
            times.append(oldest)
        return min(times, default=None)

    async def _process(self, batch: Sequence[Inbound]) -> None:
        delay = 0.1
        while True:
            try:
                self.stats.add(await self.pipeline.process(batch, self.source.acknowledge))
                self._store_back()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not is_store_outage(error):
                    log.exception("batch of %d messages failed; isolating them", len(batch))
                    await self._isolate(batch)
                    return
                self._store_down(error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_s)

    async def _isolate(self, batch: Sequence[Inbound]) -> None:
        for inbound in batch:
            try:
                self.stats.add(await self.pipeline.process([inbound], self.source.acknowledge))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_store_outage(error):
                    await self._process([inbound])
                    continue
                log.exception("message on %s could not be processed", inbound.topic)
                letter = DeadLetter.of(
                    inbound,
                    ErrorCode.PROCESSING_FAILED,
                    f"the service failed on this message: {error!r}",
                )
                await self._store_dead_letter(letter, inbound)

    async def _store_dead_letter(self, letter: DeadLetter, inbound: Inbound) -> None:
        delay = 0.1
        while True:
            try:
                async with self.pipeline.db.unit_of_work() as session:
                    await deadletters.insert_many(session=session, letters=[letter])
                self.source.acknowledge([inbound])
                self.stats.dead_letters += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._store_down(error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_s)

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
