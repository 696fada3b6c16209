"""The stored patient glance: written by the panel job, read by the panel (with what the panel
filters on beside it)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.domain import ACTIVE_ALERT_STATUSES, DeviceState, PatientState, Severity
from monitoring.registry.records import PatientBrief
from monitoring.registry.repository import quiet
from monitoring.reports.records import Glance
from monitoring.storage.models import Alert, Device, Patient, PatientGlance


async def store(*, session: AsyncSession, glances: dict[UUID, Glance], at: datetime) -> None:
    """Insert or replace the glance of each patient."""
    if not glances:
        return
    rows = [
        {
            "patient_id": patient_id,
            "computed_at": at,
            "time_in_range": g.time_in_range,
            "time_below_70": g.time_below_70,
            "time_below_54": g.time_below_54,
            "time_above_250": g.time_above_250,
            "previous_time_in_range": g.previous_time_in_range,
            "adherence_days": g.adherence_days,
            "spark_series": None if g.spark_series is None else int(g.spark_series),
            "spark": g.spark,
        }
        for patient_id, g in glances.items()
    ]
    statement = insert(PatientGlance).values(rows)
    columns = {c: statement.excluded[c] for c in rows[0] if c != "patient_id"}
    await session.execute(statement.on_conflict_do_update(index_elements=["patient_id"], set_=columns))


async def load(*, session: AsyncSession, patient_ids: Collection[UUID]) -> dict[UUID, Glance]:
    """The stored glances of these patients that exist."""
    result = await session.execute(
        select(PatientGlance).where(PatientGlance.patient_id.in_(list(patient_ids)))
    )
    return {
        g.patient_id: Glance(
            time_in_range=g.time_in_range,
            time_below_70=g.time_below_70,
            time_below_54=g.time_below_54,
            time_above_250=g.time_above_250,
            previous_time_in_range=g.previous_time_in_range,
            adherence_days=g.adherence_days,
            spark_series=None if g.spark_series is None else Series(g.spark_series),
            spark=g.spark,
            computed_at=g.computed_at,
        )
        for g in result.scalars()
    }


@dataclass(frozen=True, slots=True)
class PanelFacts:
    """What the panel filters and sorts every patient in reach by, in one row."""

    patient: PatientBrief
    glance: Glance | None  # without the sparkline
    open_alerts: dict[str, int]  # by severity, open or acknowledged
    last_seen_at: datetime | None  # by any of their devices
    quiet_devices: list[str]  # "kind serial" of each quiet device


async def panel_facts(
    *, session: AsyncSession, scope: ColumnElement[bool], now: datetime
) -> list[PanelFacts]:
    """Each active patient in scope with their stored glance, open alerts and devices' silence:
    one query, columns only."""
    active = [s.value for s in ACTIVE_ALERT_STATUSES]
    by_severity = [
        func.count().filter(Alert.severity == severity.value).label(severity.value) for severity in Severity
    ]
    counts = (
        select(Alert.patient_id, *by_severity)
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
    # Core, not the ORM: these are plain columns, and the ORM's row handling costs more than the rows.
    connection = await session.connection()
    rows = await connection.execute(
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
            *(counts.c[severity.value] for severity in Severity),
        )
        .outerjoin(g, g.patient_id == Patient.id)
        .outerjoin(devices, devices.c.patient_id == Patient.id)
        .outerjoin(counts, counts.c.patient_id == Patient.id)
        .where(scope, Patient.status == PatientState.ACTIVE.value)
    )
    names = [severity.value for severity in Severity]
    found = []
    for (
        pid,
        name,
        mrn,
        conditions,
        team,
        enrolled,
        zone,
        stored,
        tir,
        b70,
        b54,
        a250,
        prev,
        days,
        at,
        seen,
        silent,
        *n,
    ) in rows:
        brief = PatientBrief(pid, name, mrn, tuple(conditions), team, enrolled, zone)
        glance = None
        if stored is not None:
            glance = Glance(
                time_in_range=tir,
                time_below_70=b70,
                time_below_54=b54,
                time_above_250=a250,
                previous_time_in_range=prev,
                adherence_days=days,
                computed_at=at,
            )
        alerts = {s: c for s, c in zip(names, n, strict=True) if c}
        found.append(PanelFacts(brief, glance, alerts, seen, sorted(silent or ())))
    return found


async def active_patient_ids(*, session: AsyncSession) -> Sequence[UUID]:
    """Every active patient, in a stable order (the job works through them in chunks)."""
    result = await session.execute(
        select(Patient.id).where(Patient.status == PatientState.ACTIVE.value).order_by(Patient.id)
    )
    return result.scalars().all()
