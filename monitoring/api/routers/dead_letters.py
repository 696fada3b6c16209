"""Messages and readings the service refused, with their reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from devices.contract import ErrorCode
from monitoring.api.auditing import note_patients
from monitoring.api.deps import PageDep, SessionDep
from monitoring.api.schemas.common import Page
from monitoring.api.schemas.patients import DeadLetterOut
from monitoring.api.security import AdminDep
from monitoring.ingest import deadletter_repository as deadletters

router = APIRouter(prefix="/dead-letters", tags=["data quality"])

EXCERPT_BYTES = 4096


@router.get("", summary="Refused messages of your site's devices, newest first (admins)")
async def list_dead_letters(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    page: PageDep,
    code: Annotated[ErrorCode | None, Query(description="Only this error code.")] = None,
    device_serial: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query()] = None,
) -> Page[DeadLetterOut]:
    rows, total = await deadletters.list_recent(
        session=session,
        site_id=admin.site_id,
        code=code.value if code else None,
        device_serial=device_serial,
        since=since,
        limit=page.limit,
        offset=page.offset,
    )
    items = [
        DeadLetterOut(
            id=row.id,
            received_at=row.received_at,
            topic=row.topic,
            device_serial=row.device_serial,
            seq=row.seq,
            reading_index=row.reading_index,
            code=row.code,
            message=row.message,
            payload_excerpt=row.payload[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
            payload_truncated=row.payload_truncated or len(row.payload) > EXCERPT_BYTES,
        )
        for row in rows
    ]
    note_patients(request, (), total=total, returned=len(items))
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
