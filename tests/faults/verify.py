"""After a fault run: compare what the devices published with what the database holds.

Readings are compared by identity (device, measured time) and content (value);
alerts by episode: each bradycardia episode must have exactly one
``threshold.heart_rate.low`` alert on its patient, and devices without an
episode none.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select

from monitoring.storage.db import Database
from monitoring.storage.models import Alert, AlertEvent, Device, Reading

EPISODE_ALERT = "threshold.heart_rate.low"


@dataclass
class Outcome:
    published: int = 0
    stored: int = 0
    undelivered: int = 0  # still in device outboxes when the run gave up waiting
    lost: int = 0
    unexpected: int = 0
    altered: int = 0
    episodes: int = 0
    alerted: int = 0
    missed_alerts: list[str] = field(default_factory=list)
    duplicated_alerts: list[str] = field(default_factory=list)
    spurious_alerts: list[str] = field(default_factory=list)
    late_marked: int = 0
    offline_not_marked_late: list[str] = field(default_factory=list)
    alert_types: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (
            self.undelivered
            or self.lost
            or self.unexpected
            or self.altered
            or self.missed_alerts
            or self.duplicated_alerts
            or self.spurious_alerts
            or self.offline_not_marked_late
        )


async def verify(
    url: str,
    published: dict[str, dict[datetime, float]],
    episodes: dict[str, datetime | None],
    offline: set[str],
    *,
    undelivered: int,
    timeout_s: float = 120,
) -> Outcome:
    outcome = Outcome(published=sum(len(p) for p in published.values()), undelivered=undelivered)
    database = Database(url)
    try:
        await _until_stored(database, outcome.published, timeout_s)
        await asyncio.sleep(2.0)  # a duplicate or an alert still on its way would land now
        async with database.sessions() as session:
            rows = (
                await session.execute(
                    select(Device.serial, Reading.measured_at, Reading.value).join(
                        Device, Device.id == Reading.device_id
                    )
                )
            ).all()
            alerts = (
                await session.execute(
                    select(Device.serial, Alert.id, Alert.alert_type, Alert.explanation).join(
                        Device, Device.patient_id == Alert.patient_id
                    )
                )
            ).all()
            opened = Counter(
                (
                    await session.execute(select(AlertEvent.alert_id).where(AlertEvent.kind == "opened"))
                ).scalars()
            )
    finally:
        await database.dispose()
    _compare_readings(outcome, published, [(s, m, v) for s, m, v in rows])
    _compare_alerts(outcome, episodes, offline, [(s, i, t, e) for s, i, t, e in alerts], opened)
    return outcome


async def _until_stored(database: Database, expected: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with database.sessions() as session:
            stored = int(await session.scalar(select(func.count()).select_from(Reading)) or 0)
        if stored >= expected:
            return
        await asyncio.sleep(0.5)


def _compare_readings(
    outcome: Outcome, published: dict[str, dict[datetime, float]], rows: list[tuple[str, datetime, float]]
) -> None:
    stored: dict[str, dict[datetime, float]] = {}
    for serial, measured_at, value in rows:
        stored.setdefault(serial, {})[measured_at] = value
    outcome.stored = len(rows)
    for serial, sent in published.items():
        held = stored.get(serial, {})
        outcome.lost += sum(1 for at in sent if at not in held)
        outcome.altered += sum(1 for at, value in sent.items() if at in held and held[at] != value)
    for serial, held in stored.items():
        sent = published.get(serial, {})
        outcome.unexpected += sum(1 for at in held if at not in sent)


def _compare_alerts(
    outcome: Outcome,
    episodes: dict[str, datetime | None],
    offline: set[str],
    alerts: list[tuple[str, UUID, str, dict[str, object]]],
    opened: Counter[UUID],
) -> None:
    outcome.alert_types = dict(Counter(alert_type for _, _, alert_type, _ in alerts))
    by_device: dict[str, list[tuple[UUID, dict[str, object]]]] = {}
    for serial, alert_id, alert_type, explanation in alerts:
        if alert_type == EPISODE_ALERT:
            by_device.setdefault(serial, []).append((alert_id, explanation))
        if opened[alert_id] > 1:
            outcome.duplicated_alerts.append(f"{serial} {alert_type}: opened {opened[alert_id]} times")
    pairs = Counter((serial, alert_type) for serial, _, alert_type, _ in alerts)
    outcome.duplicated_alerts += [f"{s} {t}: {n} alerts" for (s, t), n in pairs.items() if n > 1]
    outcome.episodes = sum(1 for started in episodes.values() if started is not None)
    for serial, started in episodes.items():
        found = by_device.get(serial, [])
        if started is None:
            continue
        if not found:
            outcome.missed_alerts.append(f"{serial}: episode from {started.isoformat()}")
            continue
        outcome.alerted += 1
        late = any("late" in explanation for _, explanation in found)
        outcome.late_marked += late
        if serial in offline and not late:
            outcome.offline_not_marked_late.append(serial)
    outcome.spurious_alerts = [serial for serial in by_device if serial not in episodes]
