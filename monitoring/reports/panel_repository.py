"""The patient panel's query: every patient in reach with their stored glance, live alert counts
and devices' silence, given triage's flags and risk, then filtered, sorted and paged in PostgreSQL,
so that only a page of rows ever leaves the database.

The flag rules are triage's (``reports.triage``: its thresholds and weights are imported, not
repeated); the triage row of each returned patient then words the flags in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Subquery,
    cast,
    collate,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import UnaryExpression

from monitoring.domain import ACTIVE_ALERT_STATUSES, DeviceState, PatientState, Severity
from monitoring.registry.records import PatientBrief
from monitoring.registry.repository import quiet
from monitoring.reports.records import Glance, PanelQuery
from monitoring.reports.triage import (
    ADHERENCE_DAYS,
    ADHERENCE_OF,
    ALERT_WEIGHT,
    BELOW_54,
    BELOW_70,
    FLAG_WEIGHT,
    TIR_DROP,
)
from monitoring.storage.models import Alert, Device, Patient, PatientGlance

SEVERITIES = [severity.value for severity in Severity]


@dataclass(frozen=True, slots=True)
class PanelFacts:
    """One patient of a panel page, as stored and counted."""

    patient: PatientBrief
    glance: Glance | None  # without the sparkline
    open_alerts: dict[str, int]  # by severity, open or acknowledged
    last_seen_at: datetime | None  # by any of their devices
    quiet_devices: list[str]  # "kind serial" of each quiet device
    risk: int  # triage's, worked out in SQL (what the page was ranked by)


async def panel_page(
    *,
    session: AsyncSession,
    scope: ColumnElement[bool],
    query: PanelQuery,
    now: datetime,
    limit: int,
    offset: int,
) -> tuple[list[PanelFacts], int]:
    """One page of the patients in scope that match, in the query's order, and how many match."""
    facts = _facts(scope, now)
    wanted = _filters(facts, query)
    statement: Select[tuple[object, ...]] = (
        select(facts, func.count().over().label("matching"))
        .where(*wanted)
        .order_by(*_order(facts, query))
        .limit(limit)
        .offset(offset)
    )
    # Core, not the ORM: these are plain columns, and the ORM's row handling costs more than the rows.
    connection = await session.connection()
    rows = (await connection.execute(statement)).mappings().all()
    if rows:
        total = int(rows[0]["matching"])
    else:  # a page past the end still says how many there are
        counted = await connection.execute(select(func.count()).select_from(facts).where(*wanted))
        total = int(counted.scalar_one())
    return [_row(row) for row in rows], total


def _facts(scope: ColumnElement[bool], now: datetime) -> Subquery:
    active = [s.value for s in ACTIVE_ALERT_STATUSES]
    counts = (
        select(
            Alert.patient_id,
            *(func.count().filter(Alert.severity == severity).label(severity) for severity in SEVERITIES),
        )
        .join(Patient, Patient.id == Alert.patient_id)
        .where(scope, Alert.status.in_(active))
        .group_by(Alert.patient_id)
        .subquery()
    )
    devices = (
        select(
            Device.patient_id,
            func.max(Device.last_seen_at).label("last_seen"),
            func.array_agg(Device.kind + " " + Device.serial).filter(quiet(now)).label("quiet"),
        )
        .join(Patient, Patient.id == Device.patient_id)
        .where(scope, Device.status == DeviceState.ACTIVE.value)
        .group_by(Device.patient_id)
        .subquery()
    )
    g = PatientGlance
    alerts = {severity: func.coalesce(counts.c[severity], 0) for severity in SEVERITIES}
    monitored_days = func.floor(func.extract("epoch", literal(now) - Patient.enrolled_at) / 86400)
    needed = func.ceil(ADHERENCE_DAYS * func.least(monitored_days, ADHERENCE_OF) / ADHERENCE_OF)
    flags: dict[str, ColumnElement[bool]] = {
        "below_70": func.coalesce(g.time_below_70 > BELOW_70, false()),
        "below_54": func.coalesce(g.time_below_54 > BELOW_54, false()),
        "tir_drop": func.coalesce(g.previous_time_in_range - g.time_in_range > TIR_DROP, false()),
        "adherence": func.coalesce(g.adherence_days, 0) < needed,
        "offline": devices.c.quiet.is_not(None),
    }
    flag_count = sum((cast(flag, Integer) for flag in flags.values()), literal(0))
    risk = sum((ALERT_WEIGHT.get(s, 0) * n for s, n in alerts.items()), literal(0)) + FLAG_WEIGHT * flag_count
    return (
        select(
            Patient.id,
            Patient.display_name,
            Patient.mrn,
            Patient.conditions,
            Patient.care_team_id,
            Patient.enrolled_at,
            Patient.time_zone,
            g.patient_id.label("has_glance"),
            g.time_in_range,
            g.time_below_70,
            g.time_below_54,
            g.time_above_250,
            g.previous_time_in_range,
            g.adherence_days,
            g.computed_at,
            devices.c.last_seen,
            devices.c.quiet,
            *(n.label(severity) for severity, n in alerts.items()),
            *(flag.label(name) for name, flag in flags.items()),
            flag_count.label("flag_count"),
            risk.label("risk"),
        )
        .outerjoin(g, g.patient_id == Patient.id)
        .outerjoin(devices, devices.c.patient_id == Patient.id)
        .outerjoin(counts, counts.c.patient_id == Patient.id)
        .where(scope, Patient.status == PatientState.ACTIVE.value)
        .subquery("facts")
    )


def _filters(facts: Subquery, query: PanelQuery) -> list[ColumnElement[bool]]:
    c = facts.c
    wanted: list[ColumnElement[bool]] = []
    needle = (query.text or "").casefold().strip()
    if needle:
        wanted.append(
            or_(
                func.lower(c.display_name).contains(needle, autoescape=True),
                func.lower(c.mrn).startswith(needle, autoescape=True),
            )
        )
    if query.care_team_id is not None:
        wanted.append(c.care_team_id == query.care_team_id)
    if query.condition is not None:
        wanted.append(c.conditions.contains([query.condition]))
    match query.flag:
        case "any":
            wanted.append(c.flag_count > 0)
        case "none":
            wanted.append(c.flag_count == 0)
        case "low_glucose":
            wanted.append(or_(c.below_70, c.below_54))
        case "time_in_range_drop":
            wanted.append(c.tir_drop)
        case "adherence":
            wanted.append(c.adherence)
        case "device_offline":
            wanted.append(c.offline)
    open_alerts = sum((c[s] for s in SEVERITIES), literal(0))
    match query.alerts:
        case "any":
            wanted.append(open_alerts > 0)
        case "none":
            wanted.append(open_alerts == 0)
        case "high":
            wanted.append(c[Severity.HIGH.value] + c[Severity.CRITICAL.value] > 0)
        case "critical":
            wanted.append(c[Severity.CRITICAL.value] > 0)
    return wanted


def _order(facts: Subquery, query: PanelQuery) -> list[UnaryExpression[Any]]:
    """The key's natural order (riskiest, longest silent, lowest TIR, fewest days first; no CGM
    last), then the name and the id so that pages never overlap; reverse turns all of it round."""
    c = facts.c
    keys: list[tuple[ColumnElement[Any], bool, bool]] = []  # (column, descending, nulls first)
    match query.sort:
        case "risk":
            keys.append((c.risk, True, False))
        case "last_reading":
            keys.append((c.last_seen, False, True))
        case "time_in_range":
            keys.append((c.time_in_range, False, False))
        case "adherence":
            keys.append((func.coalesce(c.adherence_days, 0), False, False))
        case "name":
            pass
    keys += [(collate(func.lower(c.display_name), "C"), False, False), (c.id, False, False)]
    ordered = []
    for column, descending, nulls_first in keys:
        descending, nulls_first = descending != query.reverse, nulls_first != query.reverse
        by = column.desc() if descending else column.asc()
        ordered.append(by.nulls_first() if nulls_first else by.nulls_last())
    return ordered


def _row(r: RowMapping) -> PanelFacts:
    brief = PatientBrief(
        r["id"],
        r["display_name"],
        r["mrn"],
        tuple(r["conditions"]),
        r["care_team_id"],
        r["enrolled_at"],
        r["time_zone"],
    )
    glance = None
    if r["has_glance"] is not None:
        glance = Glance(
            time_in_range=r["time_in_range"],
            time_below_70=r["time_below_70"],
            time_below_54=r["time_below_54"],
            time_above_250=r["time_above_250"],
            previous_time_in_range=r["previous_time_in_range"],
            adherence_days=r["adherence_days"],
            computed_at=r["computed_at"],
        )
    alerts = {s: int(r[s]) for s in SEVERITIES if r[s]}
    return PanelFacts(brief, glance, alerts, r["last_seen"], sorted(r["quiet"] or ()), int(r["risk"]))
