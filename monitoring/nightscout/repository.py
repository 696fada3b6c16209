"""Uploaders, their patients' glucose entries and the documents they sent: the SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.storage.interop_models import NightscoutDocument, NightscoutUploader
from monitoring.storage.models import Device


@dataclass(frozen=True, slots=True)
class UploaderRow:
    device_id: UUID
    serial: str
    kind: str
    status: str
    patient_id: UUID | None
    site_id: UUID | None
    secret_digest: bytes
    token_digest: bytes


@dataclass(frozen=True, slots=True)
class Window:
    """Bounds on a time, each inclusive or not; None is open."""

    after: datetime | None = None
    after_inclusive: bool = True
    before: datetime | None = None
    before_inclusive: bool = True


@dataclass(frozen=True, slots=True)
class StoredEntry:
    series: Series
    serial: str
    measured_at: datetime
    value: float
    previous_at: datetime | None
    previous_value: float | None


async def uploader_of(*, session: AsyncSession, serial: str) -> UploaderRow | None:
    row = (
        await session.execute(
            select(
                Device.id,
                Device.serial,
                Device.kind,
                Device.status,
                Device.patient_id,
                Device.site_id,
                NightscoutUploader.secret_digest,
                NightscoutUploader.token_digest,
            )
            .join(NightscoutUploader, NightscoutUploader.device_id == Device.id)
            .where(Device.serial == serial)
        )
    ).one_or_none()
    return None if row is None else UploaderRow(*row)


async def register(
    *, session: AsyncSession, device_id: UUID, secret_digest: bytes, token_digest: bytes, by: UUID
) -> datetime:
    """Register (or re-register, replacing the old credentials) the device's uploader."""
    values = {"secret_digest": secret_digest, "token_digest": token_digest, "registered_by": by}
    statement = (
        insert(NightscoutUploader)
        .values(device_id=device_id, **values)
        .on_conflict_do_update(
            index_elements=[NightscoutUploader.device_id],
            set_={**values, "registered_at": text("now()")},
        )
        .returning(NightscoutUploader.registered_at)
    )
    registered_at: datetime = (await session.execute(statement)).scalar_one()
    return registered_at


async def revoke(*, session: AsyncSession, device_id: UUID) -> bool:
    result = await session.execute(
        delete(NightscoutUploader).where(NightscoutUploader.device_id == device_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _bounds(column: str, window: Window, params: dict[str, Any]) -> str:
    clauses = []
    if window.after is not None:
        clauses.append(f"{column} >{'=' if window.after_inclusive else ''} :after")
        params["after"] = window.after
    if window.before is not None:
        clauses.append(f"{column} <{'=' if window.before_inclusive else ''} :before")
        params["before"] = window.before
    return "".join(f" AND {c}" for c in clauses)


async def glucose_entries(
    *, session: AsyncSession, patient_id: UUID, series: Sequence[Series], window: Window, limit: int
) -> list[StoredEntry]:
    """The patient's glucose readings newest first, each with the one before it (same series, 2.5 to
    15 minutes earlier) for its trend."""
    params: dict[str, Any] = {"patient_id": patient_id, "series": [int(s) for s in series], "limit": limit}
    statement = text(
        "SELECT r.series, d.serial, r.measured_at, r.value, p.measured_at, p.value "
        "FROM readings r JOIN devices d ON d.id = r.device_id "
        "LEFT JOIN LATERAL (SELECT q.measured_at, q.value FROM readings q "
        "  WHERE q.patient_id = r.patient_id AND q.series = r.series "
        "  AND q.measured_at <= r.measured_at - interval '150 seconds' "
        "  AND q.measured_at >= r.measured_at - interval '15 minutes' "
        "  ORDER BY q.measured_at DESC LIMIT 1) p ON true "
        "WHERE r.patient_id = :patient_id AND r.series = ANY(:series)"
        + _bounds("r.measured_at", window, params)
        + " ORDER BY r.measured_at DESC, r.series LIMIT :limit"
    )
    rows = await session.execute(statement, params)
    return [
        StoredEntry(Series(s), serial, at, value, p_at, p_value)
        for s, serial, at, value, p_at, p_value in rows
    ]


@dataclass(frozen=True, slots=True)
class Document:
    key: str
    occurred_at: datetime
    body: dict[str, Any]


async def store_documents(
    *,
    session: AsyncSession,
    patient_id: UUID,
    device_id: UUID,
    collection: str,
    documents: Sequence[Document],
    replace: bool,
) -> int:
    """Insert documents; one already stored under its key is left as it is, or replaced (PUT).
    Returns how many rows were written."""
    if not documents:
        return 0
    rows = [
        {
            "patient_id": patient_id,
            "device_id": device_id,
            "collection": collection,
            "key": d.key,
            "occurred_at": d.occurred_at,
            "document": d.body,
        }
        for d in documents
    ]
    statement = insert(NightscoutDocument).values(rows)
    keys = [NightscoutDocument.patient_id, NightscoutDocument.collection, NightscoutDocument.key]
    if replace:
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={
                "document": statement.excluded.document,
                "occurred_at": statement.excluded.occurred_at,
                "device_id": statement.excluded.device_id,
                "received_at": text("now()"),
            },
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    result = await session.execute(statement.returning(NightscoutDocument.id))
    return len(result.all())


async def documents(
    *, session: AsyncSession, patient_id: UUID, collection: str, window: Window, limit: int
) -> list[Document]:
    """The patient's documents of a collection, newest first."""
    params: dict[str, Any] = {"patient_id": patient_id, "collection": collection, "limit": limit}
    statement = text(
        "SELECT key, occurred_at, document FROM nightscout_documents "
        "WHERE patient_id = :patient_id AND collection = :collection"
        + _bounds("occurred_at", window, params)
        + " ORDER BY occurred_at DESC, id DESC LIMIT :limit"
    ).columns(NightscoutDocument.key, NightscoutDocument.occurred_at, NightscoutDocument.document)
    return [Document(*row) for row in await session.execute(statement, params)]


async def delete_document(*, session: AsyncSession, patient_id: UUID, collection: str, key: str) -> bool:
    result = await session.execute(
        delete(NightscoutDocument).where(
            NightscoutDocument.patient_id == patient_id,
            NightscoutDocument.collection == collection,
            NightscoutDocument.key == key,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
