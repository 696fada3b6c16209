"""The whole ingestion path, top to bottom: decode -> attribute -> store -> acknowledge -> detect -> alert.

A batch is acknowledged to the broker only once its readings and dead letters
are committed, so a crash at any point loses nothing: unacknowledged messages
are redelivered and storing them again is a no-op. Detection runs only on the
readings that were new, and alerts are written idempotently, so a replay after
a restart neither misses nor duplicates an alert.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.alerts.from_findings import AlertChange, apply_findings
from monitoring.detection.careplans import refresh_care_plans
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import Finding
from monitoring.ingest import deadletter_repository as deadletters
from monitoring.ingest.directory import DeviceDirectory
from monitoring.ingest.intake import attribute, decode, serial_in
from monitoring.ingest.ownership import WorkerShare
from monitoring.ingest.quota import Admitted, DeadLetterBound
from monitoring.ingest.records import Inbound
from monitoring.observability import metrics
from monitoring.readings import repository as readings
from monitoring.readings import store_repository as writes
from monitoring.readings.records import StandardReading
from monitoring.registry import repository as registry
from monitoring.storage.db import Database

log = logging.getLogger(__name__)

Acknowledge = Callable[[Sequence[Inbound]], None]
AlertListener = Callable[[Sequence[AlertChange]], None]
# A checkpoint is stamped with the arrival of the oldest reading not yet evaluated
# (Checkpointer.watermark); readings that arrived since, less this margin for the
# clocks of several workers, are replayed after a restart.
REPLAY_MARGIN = timedelta(seconds=10)
# Readings evaluated between two returns to the event loop (about 60 ms of detection): a
# large batch must not hold up lease renewals, in-progress marks and the fetch loops.
EVALUATE_STEP = 2_000
# A batch of at least this many readings is stored with COPY first (writes.copy_new): under
# load it cuts the database's work per reading by a quarter to a half (docs/scale-out.md);
# below it the one idempotent statement is cheaper. After a COPY that met a stored reading,
# redeliveries are likely to follow (a reconnect, a restart): the idempotent statement is used
# alone for this long.
COPY_FROM_ROWS = 256
COPY_PAUSE_S = 30.0


@dataclass(slots=True)
class Stored:
    """A batch stored and acknowledged, its new readings not yet (or not all) through detection."""

    batch: Sequence[Inbound]
    new: list[StandardReading]
    refused: Admitted
    messages: int  # this worker's share of the batch
    duplicates: int
    dead_letters: int
    store_s: float
    evaluated: bool = False  # the detectors have seen ``new`` (only the alert write may be left)


@dataclass(frozen=True, slots=True)
class BatchResult:
    messages: int
    stored: int
    duplicates: int
    dead_letters: int
    alert_changes: int
    others: int = 0  # messages of patients another worker owns, acknowledged unread


class Pipeline:
    def __init__(
        self,
        *,
        db: Database,
        directory: DeviceDirectory,
        engine: DetectionEngine,
        topic_root: str,
        on_alerts: AlertListener | None = None,
        resolve_on_clear: bool = False,
        partition: WorkerShare | None = None,
        dead_letter_bound: DeadLetterBound | None = None,
    ) -> None:
        self.db = db
        self.directory = directory
        self.engine = engine
        self.topic_root = topic_root
        self.on_alerts = on_alerts
        self.resolve_on_clear = resolve_on_clear
        self.partition = partition or WorkerShare()
        self.dead_letter_bound = dead_letter_bound or DeadLetterBound(per_hour=100)
        self._copy_after = 0.0  # monotonic time from which a large batch may try COPY again
        self._unwritten: list[Finding] = []
        self._evaluating = False

    async def process(self, batch: Sequence[Inbound], acknowledge: Acknowledge) -> BatchResult:
        """Store a batch, then evaluate it: the whole path for one batch."""
        return await self.evaluate(await self.store(batch, acknowledge))

    async def store(self, batch: Sequence[Inbound], acknowledge: Acknowledge) -> Stored:
        """Decode, attribute and store a batch, then acknowledge it; its new readings are left to evaluate."""
        # 1. Find the devices (and so the patients) in the topics; keep this worker's share.
        serials = [serial_in(inbound.topic, self.topic_root) for inbound in batch]
        devices = await self.directory.lookup({s for s in serials if s is not None})
        mine = batch if self.partition.everything else self.partition.select(batch, serials, devices)
        # 2. Decode against the wire contract (bad ones become dead letters), attribute to
        # patients, standardise units, check plausibility.
        decoded = [decode(inbound, self.topic_root) for inbound in mine]
        intake = attribute(decoded, devices)
        # A device keeps at most so many dead letters an hour; the rest are counted.
        refused = self.dead_letter_bound.admit(intake.dead_letters)
        # 3. Store everything at once; only readings not stored before come back. Readings alone
        # (and the devices they mark seen) commit statement by statement; with dead letters or
        # device status too, in one transaction.
        started = time.perf_counter()
        alone = not (refused.letters or refused.unstored or intake.statuses)
        async with self.db.single_statement() if alone else self.db.unit_of_work() as session:
            new = await self._store_readings(session, intake.readings, intake.seen, alone=alone)
            await deadletters.insert_many(session=session, letters=refused.letters)
            await registry.count_unstored(session=session, by_serial=refused.unstored)
            for status in intake.statuses:
                await registry.record_status(
                    session=session,
                    device_id=status.device_id,
                    online=status.online,
                    at=status.at,
                    battery=status.battery,
                    firmware=status.firmware,
                )
        stored = time.perf_counter()
        # 4. Durable: the broker may forget these messages now (other workers' share included).
        acknowledge(batch)
        return Stored(
            batch=batch,
            new=new,
            refused=refused,
            messages=len(mine),
            duplicates=len(intake.readings) - len(new),
            dead_letters=len(intake.dead_letters),
            store_s=stored - started,
        )

    async def _store_readings(
        self,
        session: AsyncSession,
        rows: list[StandardReading],
        seen: Mapping[UUID, tuple[datetime, int]],
        *,
        alone: bool,
    ) -> list[StandardReading]:
        """Store ``rows``; return those not stored before. A large batch on its own tries COPY first."""
        if alone and len(rows) >= COPY_FROM_ROWS and time.monotonic() >= self._copy_after:
            if await writes.copy_new(session=session, rows=rows, seen=seen):
                return list(rows)
            self._copy_after = time.monotonic() + COPY_PAUSE_S  # one was stored before, or came twice
        return await writes.insert_new(session=session, rows=rows, seen=seen)

    async def evaluate(self, stored: Stored) -> BatchResult:
        """Detect on a stored batch's new readings, then record alerts.

        Called again after a failure (the database went away while alerts
        were written), it does not feed the detectors the same readings twice.
        """
        started = time.perf_counter()
        if not stored.evaluated:
            await self._feed(stored.new)
            stored.evaluated = True
        changes = await self._write()
        result = BatchResult(
            messages=stored.messages,
            stored=len(stored.new),
            duplicates=stored.duplicates,
            dead_letters=stored.dead_letters,
            alert_changes=len(changes),
            others=len(stored.batch) - stored.messages,
        )
        _measure(
            stored.batch,
            stored.refused,
            changes,
            result,
            store_s=stored.store_s,
            detect_s=time.perf_counter() - started,
        )
        return result

    @property
    def has_unwritten(self) -> bool:
        """Findings not yet written as alerts, or a batch part way through the detectors."""
        return self._evaluating or bool(self._unwritten)

    async def detect(self, new: Sequence[StandardReading]) -> list[AlertChange]:
        """Evaluate new readings and write what they find, with anything an earlier failure left over.

        The detectors' state moves on as soon as they see a reading, so a
        finding whose write fails is kept and written with the next batch (the
        retry of the same batch, after a database outage): storing the readings
        again finds them old and would not evaluate them a second time.
        """
        await self._feed(new)
        return await self._write()

    async def _feed(self, new: Sequence[StandardReading]) -> None:
        if new:
            await refresh_care_plans(self.engine, self.db, {r.patient_id for r in new})
            await self._evaluate(new)

    async def _write(self) -> list[AlertChange]:
        if not self._unwritten:
            return []
        async with self.db.unit_of_work() as session:
            changes = await apply_findings(
                session=session, findings=self._unwritten, resolve_on_clear=self.resolve_on_clear
            )
        self._unwritten = []
        if changes and self.on_alerts is not None:
            self.on_alerts(changes)
        return changes

    async def _evaluate(self, new: Sequence[StandardReading]) -> None:
        """Through the detectors in measurement order, giving the event loop back between steps."""
        ordered = sorted(new, key=attrgetter("measured_at"))
        self._evaluating = True
        try:
            for start in range(0, len(ordered), EVALUATE_STEP):
                if start:
                    await asyncio.sleep(0)
                self._unwritten.extend(self.engine.evaluate_ordered(ordered[start : start + EVALUATE_STEP]))
        finally:
            self._evaluating = False

    async def replay(self, hours: float, owns: Callable[[UUID], bool] | None = None) -> int:
        """Evaluate what the restored detector state has not seen; alerts are applied idempotently.

        That is what arrived after each patient's checkpoint (a process killed
        between storing a batch and writing its alerts writes them now), and
        the last ``hours`` for patients without a checkpoint, to warm them up.
        Only this worker's patients, or those ``owns`` names (partitions just taken over).
        """
        if hours <= 0:
            return 0
        owns = owns or self.partition.owns
        since = datetime.now(UTC) - timedelta(hours=hours)
        count = 0
        async with self.db.sessions() as session:
            async for chunk in readings.stream_unseen(session=session, since=since, margin=REPLAY_MARGIN):
                mine = [r for r in chunk if owns(r.patient_id)]
                count += len(mine)
                await self.detect(mine)
        log.info("replayed %d readings not in the saved detector state (window %.1f h)", count, hours)
        return count


def _measure(
    batch: Sequence[Inbound],
    refused: Admitted,
    changes: Sequence[AlertChange],
    result: BatchResult,
    *,
    store_s: float,
    detect_s: float,
) -> None:
    """Once per batch: the counts and timings Prometheus scrapes."""
    metrics.MESSAGES.inc(result.messages)
    if result.others:
        metrics.MESSAGES_OTHERS.inc(result.others)
    metrics.READINGS_STORED.inc(result.stored)
    metrics.READINGS_DUPLICATE.inc(result.duplicates)
    for letter in refused.letters:
        metrics.DEAD_LETTERS.labels(letter.code.value).inc()
    for code, count in refused.unstored_codes.items():
        metrics.DEAD_LETTERS_UNSTORED.labels(code).inc(count)
    for change in changes:
        metrics.ALERT_CHANGES.labels(change.kind).inc()
    metrics.STORE_SECONDS.observe(store_s)
    metrics.DETECT_SECONDS.observe(detect_s)
    if batch:
        oldest = min(inbound.received_at for inbound in batch)
        metrics.LAG_SECONDS.observe((datetime.now(UTC) - oldest).total_seconds())
