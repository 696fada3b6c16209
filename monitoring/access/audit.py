"""The audit log: every authenticated request about patient data, who made it and how it ended.

Entries are only ever inserted; the database refuses UPDATE and DELETE on the
table (a trigger installed by migration 0003).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access.principal import Principal
from monitoring.storage.models import AuditEntry

READ_METHODS = frozenset({"GET", "HEAD"})


def entry(
    *, principal: Principal, method: str, path: str, patient_id: UUID | None, client: str | None, status: int
) -> AuditEntry:
    return AuditEntry(
        user_id=principal.user_id,
        username=principal.username,
        role=principal.role.value,
        action="read" if method in READ_METHODS else "change",
        resource=f"{method} {path}"[:300],
        patient_id=patient_id,
        client=client[:64] if client else None,
        status=status,
    )


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
        statement = statement.where(AuditEntry.patient_id == patient_id)
    if since is not None:
        statement = statement.where(AuditEntry.at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.at < until)
    total = await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = await session.scalars(statement.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return rows.all(), total
