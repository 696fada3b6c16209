"""All SQL on alerts and their events."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.domain import AlertStatus, Severity
from monitoring.storage.models import Alert, AlertEvent


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
) -> Select[Alert]:
    query = select(Alert)
    if statuses:
        query = query.where(Alert.status.in_([s.value for s in statuses]))
    if patient_id is not None:
        query = query.where(Alert.patient_id == patient_id)
    if severities:
        query = query.where(Alert.severity.in_([s.value for s in severities]))
    return query


async def list_alerts(
    *,
    session: AsyncSession,
    statuses: Collection[AlertStatus] | None,
    patient_id: UUID | None,
    severities: Collection[Severity] | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Alert], int]:
    query = _filtered(statuses, patient_id, severities)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(
        query.order_by(Alert.opened_at.desc(), Alert.id).limit(limit).offset(offset)
    )
    return result.scalars().all(), int(total or 0)


async def get_alert(*, session: AsyncSession, alert_id: UUID) -> Alert | None:
    return await session.get(Alert, alert_id)


async def events_of(*, session: AsyncSession, alert_id: UUID) -> Sequence[AlertEvent]:
    result = await session.execute(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
    )
    return result.scalars().all()
