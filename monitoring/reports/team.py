"""A care team's triage list, gathered with one query per kind of fact."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from devices.kinds import KINDS, DeviceKind
from monitoring.alerts import repository as alerts
from monitoring.catalogue import Series
from monitoring.readings import repository
from monitoring.readings.repository import GlucoseCounts
from monitoring.registry import repository as registry
from monitoring.reports.triage import TriageRow
from monitoring.reports.vitals import ADHERENCE_WINDOW

PERIOD = timedelta(days=14)


def _percent(part: int, counts: GlucoseCounts | None) -> float | None:
    return None if counts is None or not counts.readings else round(100 * part / counts.readings, 1)


async def team_triage(*, session: AsyncSession, team_id: UUID, now: datetime) -> list[TriageRow]:
    patients = await registry.team_patients(session=session, team_id=team_id)
    ids = [p.id for p in patients]
    rows = {
        p.id: TriageRow(p.id, p.display_name, monitored_days=(now - p.enrolled_at).days) for p in patients
    }
    if not ids:
        return []
    for patient_id, severity, count in await alerts.active_counts(session=session, patient_ids=ids):
        rows[patient_id].open_alerts[severity] = count
    counts = await repository.glucose_counts(
        session=session, patient_ids=ids, series=Series.GLUCOSE_CGM, split=now - PERIOD, span=PERIOD
    )
    for patient_id, row in rows.items():
        recent, before = counts.get((patient_id, True)), counts.get((patient_id, False))
        if recent is not None:
            row.time_below_70 = _percent(recent.below_70, recent)
            row.time_below_54 = _percent(recent.below_54, recent)
            row.time_in_range = _percent(recent.in_range, recent)
        if before is not None:
            row.previous_time_in_range = _percent(before.in_range, before)
    days = await repository.days_with_readings(
        session=session, patient_ids=ids, start=now - ADHERENCE_WINDOW, end=now, zone="UTC"
    )
    for patient_id, n in days.items():
        rows[patient_id].adherence_days = n
    for device in await registry.active_devices_of(session=session, patient_ids=ids):
        quiet = KINDS[DeviceKind(device.kind)].expected_interval
        if now - (device.last_seen_at or device.created_at) > quiet:
            assert device.patient_id is not None
            rows[device.patient_id].devices_offline.append(f"{device.kind} {device.serial}")
    return sorted(rows.values(), key=lambda r: (-r.risk, r.display_name))
