"""A care team's triage list: the slow facts of each patient (``reports.glance``), with open
alerts and quiet devices as they are now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.alerts import repository as alerts
from monitoring.domain import time_zone
from monitoring.registry import repository as registry
from monitoring.registry.records import PatientBrief
from monitoring.reports.glance import compute
from monitoring.reports.records import Glance
from monitoring.reports.triage import ADHERENCE_OF, TriageRow
from monitoring.storage.models import Patient


def triage_row(patient: Patient | PatientBrief, glance: Glance | None, now: datetime) -> TriageRow:
    zone = time_zone(patient.time_zone)
    dates = (now.astimezone(zone).date() - patient.enrolled_at.astimezone(zone).date()).days + 1
    row = TriageRow(
        patient.id,
        patient.display_name,
        monitored_days=(now - patient.enrolled_at).days,
        dates_monitored=min(dates, ADHERENCE_OF),
    )
    if glance is not None:
        row.time_below_70, row.time_below_54 = glance.time_below_70, glance.time_below_54
        row.time_in_range, row.previous_time_in_range = glance.time_in_range, glance.previous_time_in_range
        row.adherence_days = glance.adherence_days
    return row


async def add_live_facts(*, session: AsyncSession, rows: dict[UUID, TriageRow], now: datetime) -> None:
    """Add open alerts by severity and quiet devices to the rows."""
    ids = list(rows)
    for patient_id, severity, count in await alerts.active_counts(session=session, patient_ids=ids):
        rows[patient_id].open_alerts[severity] = count
    for device in await registry.device_briefs_of(session=session, patient_ids=ids, now=now):
        if device.quiet:
            rows[device.patient_id].devices_offline.append(f"{device.kind} {device.serial}")


async def triage_rows(
    *, session: AsyncSession, patients: Sequence[Patient], now: datetime
) -> list[TriageRow]:
    """Triage rows of these patients computed now, riskiest first."""
    if not patients:
        return []
    glances = await compute(session=session, patients=patients, now=now)
    rows = {p.id: triage_row(p, glances[p.id], now) for p in patients}
    await add_live_facts(session=session, rows=rows, now=now)
    return sorted(rows.values(), key=lambda r: (-r.risk, r.display_name))


async def team_triage(*, session: AsyncSession, team_id: UUID, now: datetime) -> list[TriageRow]:
    patients = await registry.team_patients(session=session, team_id=team_id)
    return await triage_rows(session=session, patients=patients, now=now)
