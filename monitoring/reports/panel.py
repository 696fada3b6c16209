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
from typing import Literal
from uuid import UUID

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.domain import Severity
from monitoring.readings import repository as readings
from monitoring.readings.repository import LatestReading
from monitoring.registry import repository as registry
from monitoring.registry.records import DeviceBrief, PatientBrief
from monitoring.reports import glance_repository
from monitoring.reports.glance import measured_by
from monitoring.reports.records import Glance
from monitoring.reports.team import triage_row
from monitoring.reports.triage import TriageRow

SortKey = Literal["risk", "name", "last_reading", "time_in_range", "adherence"]
AlertFilter = Literal["any", "none", "high", "critical"]
FlagFilter = Literal["any", "none", "low_glucose", "time_in_range_drop", "adherence", "device_offline"]
LATEST_WITHIN = timedelta(days=30)  # a device's newest reading is looked for this far back


@dataclass(frozen=True, slots=True)
class PanelQuery:
    text: str | None = None  # part of the name, or the start of the MRN
    care_team_id: UUID | None = None
    condition: str | None = None
    flag: FlagFilter | None = None
    alerts: AlertFilter | None = None
    sort: SortKey = "risk"
    reverse: bool = False  # against the key's natural order (riskiest, longest silent, lowest TIR first)

    def matches(self, row: PanelRow) -> bool:
        p = row.patient
        if self.text:
            needle = self.text.casefold().strip()
            if needle not in p.display_name.casefold() and not p.mrn.casefold().startswith(needle):
                return False
        if self.care_team_id is not None and p.care_team_id != self.care_team_id:
            return False
        if self.condition is not None and self.condition not in p.conditions:
            return False
        return self._flag_matches(row) and self._alerts_match(row.triage)

    def _flag_matches(self, row: PanelRow) -> bool:
        flags, t = row.flags, row.triage
        match self.flag:
            case None:
                return True
            case "any":
                return bool(flags)
            case "none":
                return not flags
            case "low_glucose":
                return any(f.startswith("time below") for f in flags)
            case "time_in_range_drop":
                return any(f.startswith("time in range down") for f in flags)
            case "adherence":
                return any(f.startswith("readings on") for f in flags)
            case "device_offline":
                return bool(t.devices_offline)

    def _alerts_match(self, t: TriageRow) -> bool:
        if self.alerts is None:
            return True
        open_by = {Severity(s): n for s, n in t.open_alerts.items() if n}
        match self.alerts:
            case None:
                return True
            case "any":
                return bool(open_by)
            case "none":
                return not open_by
            case "high":
                return any(s.rank >= Severity.HIGH.rank for s in open_by)
            case "critical":
                return Severity.CRITICAL in open_by

    def key(self, row: PanelRow) -> tuple[object, ...]:
        """Sort key in the key's natural order; missing values always last."""
        name = row.patient.display_name.casefold()
        match self.sort:
            case "risk":
                return (0, -row.risk, name)
            case "name":
                return (0, name)
            case "last_reading":  # longest silent first
                seen = row.last_reading_at
                return (0, seen.timestamp(), name) if seen else (0, float("-inf"), name)
            case "time_in_range":  # lowest first; patients without CGM last
                tir = row.triage.time_in_range
                return (1, 0.0, name) if tir is None else (0, tir, name)
            case "adherence":  # fewest days with readings first
                return (0, row.triage.adherence_days, name)


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
    flags: list[str] = field(default_factory=list)  # the triage row's, worked out once
    risk: int = 0

    def settle(self) -> None:
        """Work out the triage flags and risk once the row's facts are all in (filters and sorts
        read them many times)."""
        self.flags = self.triage.flags
        self.risk = self.triage.risk_with(self.flags)


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

    Filtering and sorting need every patient in reach, so they read one row of columns per
    patient (glance, alert counts, devices' silence) on the caller's scope; only the page's
    rows then get their devices, newest readings and sparklines.
    """
    rows = {}
    for facts in await glance_repository.panel_facts(session=session, scope=scope, now=now):
        triage = triage_row(facts.patient, facts.glance, now)
        triage.open_alerts.update(facts.open_alerts)
        triage.devices_offline.extend(facts.quiet_devices)
        row = rows[facts.patient.id] = PanelRow(facts.patient, triage, facts.glance, facts.last_seen_at)
        row.settle()
    matching = sorted((r for r in rows.values() if query.matches(r)), key=query.key, reverse=query.reverse)
    page = matching[offset : offset + limit]
    await _add_devices(session, page, now)
    await _add_latest(session, page, now)
    await _add_sparks(session, page)
    return page, len(matching)


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
