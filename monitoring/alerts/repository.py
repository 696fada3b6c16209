"""All SQL on alerts and their events."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, case, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.domain import ACTIVE_ALERT_STATUSES, AlertStatus, Severity
from monitoring.storage.models import Alert, AlertEvent, CareTeam, Patient, User


async def latest_by_key(
    *, session: AsyncSession, keys: Collection[tuple[UUID, str]]
) -> dict[tuple[UUID, str], Alert]:
    """The most recent alert of each (patient, alert type), whatever its status."""
    if not keys:
        return {}
    result = await session.execute(
        select(Alert)
        .where(tuple_(Alert.patient_id, Alert.alert_type).in_(list(keys)))
        .ext(distinct_on(Alert.patient_id, Alert.alert_type))
        .order_by(Alert.patient_id, Alert.alert_type, Alert.opened_at.desc())
    )
    return {(a.patient_id, a.alert_type): a for a in result.scalars()}


def add_event(
    *,
    session: AsyncSession,
    alert: Alert,
    kind: str,
    at: datetime,
    actor: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    session.add(AlertEvent(alert_id=alert.id, at=at, kind=kind, actor=actor, detail=detail or {}))


def _filtered(
    statuses: Collection[AlertStatus] | None,
    patient_id: UUID | None,
    severities: Collection[Severity] | None,
    scope: ColumnElement[bool] | None,
) -> Select[Alert]:
    query = select(Alert)
    if scope is not None:  # only patients the caller may see
        query = query.join(Patient, Patient.id == Alert.patient_id).where(scope)
    if statuses:
        query = query.where(Alert.status.in_([s.value for s in statuses]))
    if patient_id is not None:
        query = query.where(Alert.patient_id == patient_id)
    if severities:
        query = query.where(Alert.severity.in_([s.value for s in severities]))
    return query


SEVERITY_RANK = case({s.value: s.rank for s in Severity}, value=Alert.severity, else_=0)


async def list_alerts(
    *,
    session: AsyncSession,
    statuses: Collection[AlertStatus] | None,
    patient_id: UUID | None,
    severities: Collection[Severity] | None,
    limit: int,
    offset: int,
    scope: ColumnElement[bool] | None = None,
    queue_at: datetime | None = None,
    assigned_to: UUID | None = None,
    unassigned: bool = False,
    alert_types: Collection[str] | None = None,
) -> tuple[Sequence[Alert], int]:
    """Alerts newest first; or, with ``queue_at``, the work queue at that time: active alerts
    that are not snoozed, most severe first and, within a severity, oldest first. Optionally
    only those assigned to one user, or to nobody."""
    if queue_at is not None:
        statuses = [s for s in ACTIVE_ALERT_STATUSES if not statuses or s in statuses]
    query = _filtered(statuses, patient_id, severities, scope)
    if assigned_to is not None:
        query = query.where(Alert.assigned_to == assigned_to)
    if unassigned:
        query = query.where(Alert.assigned_to.is_(None))
    if alert_types:
        query = query.where(Alert.alert_type.in_(list(alert_types)))
    order: tuple[Any, ...] = (Alert.opened_at.desc(), Alert.id)
    if queue_at is not None:
        query = query.where(or_(Alert.snoozed_until.is_(None), Alert.snoozed_until <= queue_at))
        order = (SEVERITY_RANK.desc(), Alert.opened_at, Alert.id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(query.order_by(*order).limit(limit).offset(offset))
    return result.scalars().all(), int(total or 0)


async def queue_facets(
    *,
    session: AsyncSession,
    scope: ColumnElement[bool],
    queue_at: datetime,
    assigned_to: UUID | None = None,
    unassigned: bool = False,
) -> list[tuple[str, str, int]]:
    """(severity, alert type, how many) of the queue at ``queue_at``: what its filters can offer."""
    query = _filtered(ACTIVE_ALERT_STATUSES, None, None, scope).where(
        or_(Alert.snoozed_until.is_(None), Alert.snoozed_until <= queue_at)
    )
    if assigned_to is not None:
        query = query.where(Alert.assigned_to == assigned_to)
    if unassigned:
        query = query.where(Alert.assigned_to.is_(None))
    counted = query.with_only_columns(Alert.severity, Alert.alert_type, func.count()).group_by(
        Alert.severity, Alert.alert_type
    )
    return [(severity, kind, n) for severity, kind, n in await session.execute(counted)]


async def names_of(
    *, session: AsyncSession, patient_ids: Collection[UUID], user_ids: Collection[UUID]
) -> tuple[dict[UUID, tuple[str, str, str]], dict[UUID, str]]:
    """Patients' (name, MRN, time zone) and users' display names, by id, for a page of alerts."""
    patients = {
        pid: (name, mrn, zone)
        for pid, name, mrn, zone in await session.execute(
            select(Patient.id, Patient.display_name, Patient.mrn, Patient.time_zone).where(
                Patient.id.in_(list(patient_ids))
            )
        )
    }
    users: dict[UUID, str] = {}
    if user_ids:
        rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(list(user_ids))))
        users = {row.id: row.display_name for row in rows}
    return patients, users


async def on_call_of(*, session: AsyncSession, patient_ids: Collection[UUID]) -> dict[UUID, UUID]:
    """Who holds the on-call of each patient's care team, for patients whose team has someone on call."""
    rows = await session.execute(
        select(Patient.id, CareTeam.on_call_user_id)
        .join(CareTeam, CareTeam.id == Patient.care_team_id)
        .join(User, User.id == CareTeam.on_call_user_id)
        .where(Patient.id.in_(list(patient_ids)), User.active.is_(True))
    )
    return {row.id: row.on_call_user_id for row in rows if row.on_call_user_id is not None}


async def get_alert(*, session: AsyncSession, alert_id: UUID) -> Alert | None:
    return await session.get(Alert, alert_id)


async def events_of(*, session: AsyncSession, alert_id: UUID) -> Sequence[AlertEvent]:
    result = await session.execute(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
    )
    return result.scalars().all()


async def dismissal_counts(
    *, session: AsyncSession, scope: ColumnElement[bool], since: datetime
) -> list[tuple[str, str, int]]:
    """How often each alert type was dismissed as false, and why, most frequent first."""
    count = func.count().label("n")
    result = await session.execute(
        select(Alert.alert_type, Alert.dismissed_reason, count)
        .join(Patient, Patient.id == Alert.patient_id)
        .where(scope, Alert.status == AlertStatus.DISMISSED.value, Alert.resolved_at >= since)
        .group_by(Alert.alert_type, Alert.dismissed_reason)
        .order_by(count.desc(), Alert.alert_type)
    )
    return [(kind, reason or "", int(n)) for kind, reason, n in result]


async def alert_with_patient(
    *, session: AsyncSession, alert_id: UUID, lock: bool = False
) -> tuple[Alert, Patient] | None:
    """An alert (locked for update when asked) with its patient."""
    statement = select(Alert).where(Alert.id == alert_id)
    alert = await session.scalar(statement.with_for_update() if lock else statement)
    patient = None if alert is None else await session.get(Patient, alert.patient_id)
    return None if alert is None or patient is None else (alert, patient)


async def waiting_for_escalation(*, session: AsyncSession, max_level: int, now: datetime) -> Sequence[Alert]:
    """Open alerts below the top tier and not snoozed, oldest first, locked (skipped if taken)."""
    rows = await session.scalars(
        select(Alert)
        .where(
            Alert.status == AlertStatus.OPEN.value,
            Alert.escalation_level < max_level,
            or_(Alert.snoozed_until.is_(None), Alert.snoozed_until <= now),
        )
        .order_by(Alert.opened_at)
        .with_for_update(skip_locked=True)
    )
    return rows.all()


async def opened_in(
    *, session: AsyncSession, patient_id: UUID, series: int, start: datetime, end: datetime
) -> list[tuple[datetime, str, str]]:
    """(opened at, type, severity) of a patient's alerts on one series opened in [start, end)."""
    rows = await session.execute(
        select(Alert.opened_at, Alert.alert_type, Alert.severity).where(
            Alert.patient_id == patient_id,
            Alert.series == series,
            Alert.opened_at >= start,
            Alert.opened_at < end,
        )
    )
    return [(at, kind, severity) for at, kind, severity in rows]


async def alerts_begun(
    *, session: AsyncSession, patient_id: UUID, start: datetime, end: datetime, limit: int
) -> tuple[Sequence[Alert], int]:
    """A patient's alerts whose episode began in [start, end), newest first (at most ``limit``), and
    how many there were. When it began, not when it was raised: a replayed hour belongs to its hour."""
    began = Alert.episode_started_at
    where = (Alert.patient_id == patient_id, began >= start, began < end)
    total = await session.scalar(select(func.count()).select_from(Alert).where(*where))
    rows = await session.scalars(select(Alert).where(*where).order_by(began.desc()).limit(limit))
    return rows.all(), total or 0


async def ended_but_open(*, session: AsyncSession, site_id: UUID, began_before: datetime) -> Sequence[UUID]:
    """Open alerts at a site whose episode began before ``began_before`` and has since cleared."""
    rows = await session.scalars(
        select(Alert.id)
        .join(Patient, Patient.id == Alert.patient_id)
        .where(
            Patient.site_id == site_id,
            Alert.status == AlertStatus.OPEN.value,
            Alert.cleared_at.is_not(None),
            Alert.episode_started_at < began_before,
        )
    )
    return rows.all()


async def active_counts(
    *, session: AsyncSession, patient_ids: Collection[UUID]
) -> list[tuple[UUID, str, int]]:
    """(patient, severity, how many) of the open and acknowledged alerts of these patients."""
    rows = await session.execute(
        select(Alert.patient_id, Alert.severity, func.count())
        .where(Alert.patient_id.in_(patient_ids), Alert.status.in_([s.value for s in ACTIVE_ALERT_STATUSES]))
        .group_by(Alert.patient_id, Alert.severity)
    )
    return [(patient_id, severity, count) for patient_id, severity, count in rows]
