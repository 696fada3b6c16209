"""All SQL on the audit log: reading it (entries are written by adding them to a unit of work)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.storage.models import AuditEntry


async def query(
    *,
    session: AsyncSession,
    user_ids: Sequence[UUID] | None,
    patient_id: UUID | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[AuditEntry], int]:
    statement = select(AuditEntry)
    if user_ids is not None:
        statement = statement.where(AuditEntry.user_id.in_(user_ids))
    if patient_id is not None:
        statement = statement.where(
            or_(AuditEntry.patient_id == patient_id, AuditEntry.patient_ids.contains([patient_id]))
        )
    if since is not None:
        statement = statement.where(AuditEntry.at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.at < until)
    total = await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = await session.scalars(statement.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return rows.all(), total
