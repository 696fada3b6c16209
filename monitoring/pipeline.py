"""The whole ingestion path, top to bottom: decode -> attribute -> store -> acknowledge -> detect -> alert.

A batch is acknowledged to the broker only once its readings and dead letters
are committed, so a crash at any point loses nothing: unacknowledged messages
are redelivered and storing them again is a no-op. Detection runs only on the
readings that were new, and alerts are written idempotently, so a replay after
a restart neither misses nor duplicates an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitoring.alerts.service import AlertChange, apply_findings
from monitoring.detection.careplans import refresh_care_plans
from monitoring.detection.engine import DetectionEngine
from monitoring.ingest import deadletters
from monitoring.ingest.directory import DeviceDirectory
from monitoring.ingest.intake import DecodedReadings, DecodedStatus, attribute, decode
from monitoring.ingest.records import Inbound, StandardReading
from monitoring.readings import repository as readings
from monitoring.registry import repository as registry
from monitoring.storage.db import Database

log = logging.getLogger(__name__)

Acknowledge = Callable[[Sequence[Inbound]], None]
AlertListener = Callable[[Sequence[AlertChange]], None]


@dataclass(frozen=True, slots=True)
class BatchResult:
    messages: int
    stored: int
    duplicates: int
    dead_letters: int
    alert_changes: int


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
    ) -> None:
        self.db = db
        self.directory = directory
        self.engine = engine
        self.topic_root = topic_root
        self.on_alerts = on_alerts
        self.resolve_on_clear = resolve_on_clear

    async def process(self, batch: Sequence[Inbound], acknowledge: Acknowledge) -> BatchResult:
        # 1. Decode every message against the wire contract (bad ones become dead letters).
        decoded = [decode(inbound, self.topic_root) for inbound in batch]
        # 2. Attribute to patients via the device registry, standardise units, check plausibility.
        serials = {d.serial for d in decoded if isinstance(d, DecodedReadings | DecodedStatus)}
        devices = await self.directory.lookup(serials)
        intake = attribute(decoded, devices)
        # 3. Store everything in one transaction; only readings not stored before come back.
        async with self.db.unit_of_work() as session:
            new = await readings.insert_new(session=session, rows=intake.readings)
            await deadletters.insert_many(session=session, letters=intake.dead_letters)
            await registry.touch_devices(session=session, seen=intake.seen)
            for status in intake.statuses:
                await registry.record_status(
                    session=session,
                    device_id=status.device_id,
                    online=status.online,
                    at=status.at,
                    battery=status.battery,
                    firmware=status.firmware,
                )
        # 4. Durable: the broker may forget these messages now.
        acknowledge(batch)
        # 5. Detect on new readings only, then record alerts.
        changes = await self.detect(new)
        return BatchResult(
            messages=len(batch),
            stored=len(new),
            duplicates=len(intake.readings) - len(new),
            dead_letters=len(intake.dead_letters),
            alert_changes=len(changes),
        )

    async def detect(self, new: Sequence[StandardReading]) -> list[AlertChange]:
        if not new:
            return []
        await refresh_care_plans(self.engine, self.db, {r.patient_id for r in new})
        findings = self.engine.evaluate(new)
        if not findings:
            return []
        async with self.db.unit_of_work() as session:
            changes = await apply_findings(
                session=session, findings=findings, resolve_on_clear=self.resolve_on_clear
            )
        if changes and self.on_alerts is not None:
            self.on_alerts(changes)
        return changes

    async def replay(self, hours: float) -> int:
        """Warm the detectors on recent readings; alerts they imply are applied idempotently."""
        if hours <= 0:
            return 0
        since = datetime.now(UTC) - timedelta(hours=hours)
        count = 0
        async with self.db.sessions() as session:
            async for chunk in readings.stream_since(session=session, since=since):
                count += len(chunk)
                await self.detect(chunk)
        log.info("replayed %d readings from the last %.1f h into the detectors", count, hours)
        return count
