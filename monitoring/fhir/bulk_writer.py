"""Runs one Bulk Data export: streams each type from PostgreSQL into an NDJSON file, a chunk at a
time (memory stays flat however large the export), de-identified when asked, then records the
files for the manifest. Files live under ``<export dir>/<export id>/``."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.fhir import bulk_repository, resources
from monitoring.fhir.bulk import Deidentifier
from monitoring.fhir.search import resource_of
from monitoring.storage.db import Database
from monitoring.storage.interop_models import BulkExport

log = logging.getLogger(__name__)
LINES_PER_WRITE = 5_000


class Cancelled(Exception):
    """The export was cancelled while it ran."""


def folder(directory: Path, export_id: UUID) -> Path:
    return directory / str(export_id)


async def remove(directory: Path, export_id: UUID) -> None:
    """Delete an export's files (gigabytes, maybe: off the event loop)."""
    await asyncio.to_thread(shutil.rmtree, folder(directory, export_id), ignore_errors=True)


async def expire_finished(database: Database, directory: Path, keep: timedelta) -> list[UUID]:
    """Delete the files of exports finished longer than ``keep`` ago; the ids of those expired."""
    async with database.unit_of_work() as session:
        expired = await bulk_repository.expire(session=session, finished_before=datetime.now(UTC) - keep)
    for export_id in expired:
        await remove(directory, export_id)
    return expired


async def run_next(database: Database, directory: Path) -> UUID | None:
    """Claim the oldest accepted export and run it; its id, or None when none was waiting."""
    async with database.unit_of_work() as session:
        export = await bulk_repository.claim_next(session=session, now=datetime.now(UTC))
        if export is None:
            return None
        session.expunge(export)
    try:
        files = await _write_all(database, directory, export)
    except Cancelled:
        await remove(directory, export.id)
        return export.id
    except Exception as error:
        log.exception("bulk export %s failed", export.id)
        await remove(directory, export.id)
        async with database.unit_of_work() as session:
            await bulk_repository.set_state(
                session=session,
                export_id=export.id,
                status="failed",
                finished_at=datetime.now(UTC),
                error=f"{type(error).__name__}: {error}",
            )
        return export.id
    async with database.unit_of_work() as session:
        completed = await bulk_repository.set_state(
            session=session,
            export_id=export.id,
            status="completed",
            finished_at=datetime.now(UTC),
            output=files,
            progress=None,
        )
    if not completed:  # cancelled while its last file was written
        await remove(directory, export.id)
    return export.id


async def _write_all(database: Database, directory: Path, export: BulkExport) -> list[dict[str, Any]]:
    target = folder(directory, export.id)
    await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
    hide = Deidentifier(secrets.token_bytes(32)) if export.deidentify else None
    files = []
    async with database.unit_of_work() as session:
        for kind in export.types:
            name = f"{kind}.ndjson"
            out = await asyncio.to_thread((target / name).open, "w", encoding="utf-8")
            try:
                count = await _write(out, _resources(session, export, kind, hide))
            finally:
                await asyncio.to_thread(out.close)
            if count:
                files.append({"type": kind, "name": name, "count": count})
            else:
                await asyncio.to_thread((target / name).unlink)
            if await bulk_repository.status_of(session=session, export_id=export.id) == "cancelled":
                raise Cancelled
            async with database.unit_of_work() as progress:  # seen by status polls at once
                await bulk_repository.set_state(
                    session=progress, export_id=export.id, progress=f"{kind}: {count} written"
                )
    return files


async def _write(out: IO[str], found: AsyncIterator[dict[str, Any]]) -> int:
    count, lines = 0, []
    async for resource in found:
        lines.append(json.dumps(resource, separators=(",", ":")))
        if len(lines) >= LINES_PER_WRITE:
            await asyncio.to_thread(out.write, "\n".join(lines) + "\n")
            count, lines = count + len(lines), []
    if lines:
        await asyncio.to_thread(out.write, "\n".join(lines) + "\n")
        count += len(lines)
    return count


async def _resources(
    session: AsyncSession, export: BulkExport, kind: str, hide: Deidentifier | None
) -> AsyncIterator[dict[str, Any]]:
    match kind:
        case "Patient":
            async for patient, code in bulk_repository.patients(session=session, export=export):
                found = resources.patient(patient, code)
                yield hide.patient(found) if hide else found
        case "Device":
            async for device in bulk_repository.devices(session=session, export=export):
                found = resources.device(device)
                yield hide.device(found) if hide else found
        case "Observation":
            async for row in bulk_repository.readings(session=session, export=export):
                found = resource_of(row, panels=True)
                yield hide.observation(found) if hide else found
        case "Flag":
            async for alert in bulk_repository.alerts(session=session, export=export):
                found = resources.flag(alert)
                yield hide.flag(found, alert.alert_type, alert.severity) if hide else found
