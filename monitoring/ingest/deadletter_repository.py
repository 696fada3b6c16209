"""All SQL on dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.ingest.records import DeadLetter
from monitoring.storage.models import DeadLetter as DeadLetterRow
from monitoring.storage.models import Device


async def insert_many(*, session: AsyncSession, letters: Sequence[DeadLetter]) -> None:
    if not letters:
        return
    await session.execute(
        insert(DeadLetterRow),
        [
            {
                "received_at": d.received_at,
                "topic": d.topic,
                "device_serial": d.device_serial,
                "seq": d.seq,
                "reading_index": d.reading_index,
                "code": d.code.value,
                "message": d.message,
                "payload": d.payload,
                "payload_truncated": d.payload_truncated,
            }
            for d in letters
        ],
    )


async def list_recent(
    *,
    session: AsyncSession,
    site_id: UUID,
    code: str | None,
    device_serial: str | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[DeadLetterRow], int]:
    # A site sees the letters of devices registered at the site. Letters that name no registered
    # device (unknown serials, malformed topics) belong to no site: operators read them in the
    # database and count them in metrics.
    site_serials = select(Device.serial).where(Device.site_id == site_id)
    query = select(DeadLetterRow).where(DeadLetterRow.device_serial.in_(site_serials))
    if code is not None:
        query = query.where(DeadLetterRow.code == code)
    if device_serial is not None:
        query = query.where(DeadLetterRow.device_serial == device_serial)
    if since is not None:
        query = query.where(DeadLetterRow.received_at >= since)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(query.order_by(DeadLetterRow.id.desc()).limit(limit).offset(offset))
    return result.scalars().all(), int(total or 0)
