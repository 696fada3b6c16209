"""A care team's triage list, gathered with one query per kind of fact."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devices.kinds import KINDS, DeviceKind
from monitoring.catalogue import Series
from monitoring.domain import ACTIVE_ALERT_STATUSES, DeviceState
from monitoring.readings import repository
from monitoring.readings.repository import GlucoseCounts
from monitoring.reports.triage import TriageRow
from monitoring.reports.vitals import ADHERENCE_WINDOW
from monitoring.storage.models import Alert, Device, Patient

PERIOD = timedelta(days=14)


def _percent(part: int, counts: GlucoseCounts | None) -> float | None:
    return None if counts is None or not counts.readings else round(100 * part / counts.readings, 1)


async def team_triage(*, session: AsyncSession, team_id: UUID, now: datetime) -> list[TriageRow]:
    patients = (
        await session.scalars(
            select(Patient).where(Patient.care_team_id == team_id).order_by(Patient.display_name)
        )
    ).all()
    ids = [p.id for p in patients]
    rows = {p.id: TriageRow(patient_id=p.id, display_name=p.display_name) for p in patients}
    if not ids:
        return []
    alerts = await session.execute(
        select(Alert.patient_id, Alert.severity, func.count())
        .where(Alert.patient_id.in_(ids), Alert.status.in_([s.value for s in ACTIVE_ALERT_STATUSES]))
        .group_by(Alert.patient_id, Alert.severity)
    )
    for patient_id, severity, count in alerts:
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
    for device in await _active_devices(session, ids):
        quiet = KINDS[DeviceKind(device.kind)].expected_interval
        if device.last_seen_at is None or now - device.last_seen_at > quiet:
            assert device.patient_id is not None
            rows[device.patient_id].devices_offline.append(f"{device.kind} {device.serial}")
    return sorted(rows.values(), key=lambda r: (-r.risk, r.display_name))


async def _active_devices(session: AsyncSession, patient_ids: Sequence[UUID]) -> Sequence[Device]:
    found = await session.scalars(
        select(Device).where(Device.patient_id.in_(patient_ids), Device.status == DeviceState.ACTIVE.value)
    )
    return found.all()
