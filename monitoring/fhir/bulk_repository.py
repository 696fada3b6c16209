"""All SQL of Bulk Data exports: the export rows, and the streams an export reads (server-side
cursors, a few thousand rows at a time, so no export is held in memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.errors import NotFoundError
from monitoring.fhir.repository import ReadingRow, reading_row_columns
from monitoring.storage.interop_models import BulkExport
from monitoring.storage.models import Alert, AlertEvent, Device, Patient, Reading, Site

CHUNK = 5_000


async def create(
    *,
    session: AsyncSession,
    site_id: UUID,
    requested_by: UUID,
    care_team_id: UUID | None,
    types: Sequence[str],
    since: datetime | None,
    deidentify: bool,
    request_url: str,
) -> BulkExport:
    export = BulkExport(
        site_id=site_id,
        requested_by=requested_by,
        care_team_id=care_team_id,
        types=list(types),
        since=since,
        deidentify=deidentify,
        request_url=request_url,
    )
    session.add(export)
    await session.flush()
    await session.refresh(export)
    return export


async def of_site(*, session: AsyncSession, site_id: UUID, export_id: UUID) -> BulkExport:
    export = await session.get(BulkExport, export_id)
    if export is None or export.site_id != site_id or export.status == "cancelled":
        raise NotFoundError(f"export {export_id} does not exist or is not your site's")
    if export.status == "expired":
        raise NotFoundError(f"export {export_id} has expired and its files are deleted; ask for a new one")
    return export


async def expire(*, session: AsyncSession, finished_before: datetime) -> list[UUID]:
    """Mark exports that finished before ``finished_before`` expired; their ids (files to delete)."""
    found = await session.execute(
        update(BulkExport)
        .where(BulkExport.status.in_(("completed", "failed")), BulkExport.finished_at < finished_before)
        .values(status="expired", output=None)
        .returning(BulkExport.id)
    )
    return list(found.scalars())


async def claim_next(*, session: AsyncSession, now: datetime) -> BulkExport | None:
    """The oldest accepted export, marked running (several schedulers skip each other's)."""
    export = await session.scalar(
        select(BulkExport)
        .where(BulkExport.status == "accepted")
        .order_by(BulkExport.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if export is not None:
        export.status, export.started_at, export.transaction_time = "running", now, now
        await session.flush()
    return export


async def set_state(*, session: AsyncSession, export_id: UUID, **values: Any) -> bool:
    """Record progress or the outcome; a cancelled export stays cancelled (False: it was)."""
    changed = await session.execute(
        update(BulkExport)
        .where(BulkExport.id == export_id, BulkExport.status != "cancelled")
        .values(**values)
        .returning(BulkExport.id)
    )
    return changed.first() is not None


async def status_of(*, session: AsyncSession, export_id: UUID) -> str | None:
    return await session.scalar(select(BulkExport.status).where(BulkExport.id == export_id))


def _in_export(export: BulkExport) -> list[ColumnElement[bool]]:
    found = [Patient.site_id == export.site_id]
    if export.care_team_id is not None:
        found.append(Patient.care_team_id == export.care_team_id)
    return found


async def _rows(session: AsyncSession, statement: Any) -> AsyncIterator[Any]:
    result = await session.stream(statement.execution_options(yield_per=CHUNK))
    async for partition in result.partitions():
        for row in partition:
            yield row


async def patients(*, session: AsyncSession, export: BulkExport) -> AsyncIterator[tuple[Patient, str]]:
    statement = (
        select(Patient, Site.code)
        .join(Site, Site.id == Patient.site_id)
        .where(*_in_export(export))
        .order_by(Patient.id)
    )
    async for patient, code in _rows(session, statement):
        yield patient, code


async def devices(*, session: AsyncSession, export: BulkExport) -> AsyncIterator[Device]:
    statement = (
        select(Device)
        .join(Patient, Patient.id == Device.patient_id)
        .where(*_in_export(export))
        .order_by(Device.id)
    )
    async for (device,) in _rows(session, statement):
        yield device


async def readings(*, session: AsyncSession, export: BulkExport) -> AsyncIterator[ReadingRow]:
    """Every reading of the export's patients stored since ``since``; a systolic one with its
    diastolic (diastolic rows themselves are left out: the panel carries them)."""
    wanted = [*_in_export(export), Reading.series != int(Series.BP_DIASTOLIC)]
    if export.since is not None:
        wanted.append(Reading.received_at >= export.since)
    statement = select(*reading_row_columns()).join(Patient, Patient.id == Reading.patient_id).where(*wanted)
    async for row in _rows(session, statement):
        yield ReadingRow(*row)


async def alerts(*, session: AsyncSession, export: BulkExport) -> AsyncIterator[Alert]:
    """The export's patients' alerts; with ``since``, those that changed since."""
    wanted = _in_export(export)
    if export.since is not None:
        changed = exists().where(AlertEvent.alert_id == Alert.id, AlertEvent.at >= export.since)
        wanted.append(changed)
    statement = select(Alert).join(Patient, Patient.id == Alert.patient_id).where(*wanted).order_by(Alert.id)
    async for (alert,) in _rows(session, statement):
        yield alert
