"""The patient panel: every patient in reach with what a coordinator looks at first, searchable,
filterable, sortable and paged on the server.

Slow facts (time in ranges, days with readings, the sparkline) come from the stored glance
(``reports.glance``, refreshed by a job); open alerts, device silence and each device's newest
reading are read live. Risk is triage's (``reports.triage``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.readings import repository as readings
from monitoring.readings.repository import LatestReading
from monitoring.registry import repository as registry
from monitoring.registry.records import DeviceBrief, PatientBrief
from monitoring.reports import glance_repository, panel_repository
from monitoring.reports.glance import measured_by
from monitoring.reports.records import Glance, PanelQuery
from monitoring.reports.team import triage_row
from monitoring.reports.triage import TriageRow

LATEST_WITHIN = timedelta(days=30)  # a device's newest reading is looked for this far back


@dataclass(slots=True)
class DeviceGlance:
    device: DeviceBrief
    latest: list[LatestReading] = field(default_factory=list)


@dataclass(slots=True)
class PanelRow:
    patient: PatientBrief
    triage: TriageRow
    glance: Glance | None
    last_reading_at: datetime | None  # by any of their devices
    devices: list[DeviceGlance] = field(default_factory=list)  # the page's rows only


def reported_series(kind: str) -> list[Series]:
    """What a device of this kind measures through the day (its daily totals left out)."""
    return sorted(measured_by([kind], daily=False))


async def panel(
    *,
    session: AsyncSession,
    scope: ColumnElement[bool],
    query: PanelQuery,
    limit: int,
    offset: int,
    now: datetime,
) -> tuple[list[PanelRow], int]:
    """One page of the panel and how many patients match in all.

    PostgreSQL filters, ranks and pages every patient in reach (``reports.panel_repository``);
    only the page's rows then get their triage wording, devices, newest readings and sparklines.
    """
    found, total = await panel_repository.panel_page(
        session=session, scope=scope, query=query, now=now, limit=limit, offset=offset
    )
    page = []
    for facts in found:
        triage = triage_row(facts.patient, facts.glance, now)
        triage.open_alerts.update(facts.open_alerts)
        triage.devices_offline.extend(facts.quiet_devices)
        page.append(PanelRow(facts.patient, triage, facts.glance, facts.last_seen_at))
    await _add_devices(session, page, now)
    await _add_latest(session, page, now)
    await _add_sparks(session, page)
    return page, total


async def _add_devices(session: AsyncSession, page: Sequence[PanelRow], now: datetime) -> None:
    by_patient = {row.patient.id: row for row in page}
    for device in await registry.device_briefs_of(session=session, patient_ids=list(by_patient), now=now):
        by_patient[device.patient_id].devices.append(DeviceGlance(device))


async def _add_sparks(session: AsyncSession, page: Sequence[PanelRow]) -> None:
    stored = await glance_repository.load(session=session, patient_ids=[row.patient.id for row in page])
    for row in page:
        row.glance = stored.get(row.patient.id, row.glance)


async def _add_latest(session: AsyncSession, page: Sequence[PanelRow], now: datetime) -> None:
    by_device = {d.device.id: d for row in page for d in row.devices}
    wanted = [(d.device.id, s) for d in by_device.values() for s in reported_series(d.device.kind)]
    for latest in await readings.latest_readings(session=session, wanted=wanted, since=now - LATEST_WITHIN):
        by_device[latest.device_id].latest.append(latest)
