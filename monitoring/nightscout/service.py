"""What an uploader may do: sign in with its device's credentials, post entries (to the broker, as
the device), keep and read back treatments and device statuses, read its patient's glucose."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from devices.kinds import DeviceKind
from monitoring.access.principal import Principal
from monitoring.catalogue import Series
from monitoring.errors import ConflictError, ForbiddenError, InvalidRequestError, UnauthorizedError
from monitoring.nightscout import credentials, repository
from monitoring.nightscout.entries import EntryError, documents_of, entry_time, listed, read_upload
from monitoring.nightscout.gateway import BrokerUnavailableError, ReadingsGateway
from monitoring.nightscout.query import ReadQuery
from monitoring.nightscout.repository import Document
from monitoring.registry.devices import site_device
from monitoring.storage.models import Device

COLLECTIONS = ("treatments", "devicestatus")
MAX_DOCUMENT_BYTES = 32 * 1024
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_SERIES_OF_TYPE = {"sgv": Series.GLUCOSE_CGM, "mbg": Series.GLUCOSE_METER}


@dataclass(frozen=True, slots=True)
class Uploader:
    device_id: UUID
    serial: str
    patient_id: UUID
    site_id: UUID | None


async def authenticate(
    *, session: AsyncSession, serial: str, api_secret: str | None, token: str | None
) -> Uploader:
    """The uploader of device ``serial``, if what it presented is its secret or token."""
    if api_secret is None and token is None:
        raise UnauthorizedError(
            "send the api-secret header (the SHA-1 hex of the uploader's API secret) or ?token="
        )
    row = await repository.uploader_of(session=session, serial=serial)
    if row is None or not credentials.matches(
        row.secret_digest, row.token_digest, api_secret=api_secret, token=token
    ):
        # One answer for an unknown serial, a device without an uploader and a wrong secret.
        raise UnauthorizedError("the API secret or token is not valid for this uploader address")
    if row.status != "active":
        raise ForbiddenError(f"device {serial} is {row.status}: it may no longer send")
    if row.patient_id is None:
        raise ForbiddenError(f"device {serial} is not assigned to a patient: its readings would not be kept")
    return Uploader(row.device_id, row.serial, row.patient_id, row.site_id)


@dataclass(frozen=True, slots=True)
class Registered:
    """A newly registered uploader; the secret and the token are shown this once."""

    device: Device
    api_secret: str
    token: str
    registered_at: datetime


async def register_uploader(*, session: AsyncSession, admin: Principal, device_id: UUID) -> Registered:
    """Let a Nightscout uploader send as this CGM (again: new credentials replace the old)."""
    device = await site_device(session, admin, device_id)
    if device.kind != DeviceKind.CGM.value:
        raise InvalidRequestError(
            f"device {device.serial} is a {device.kind}; a Nightscout uploader sends as a cgm device"
        )
    if device.status != "active":
        raise ConflictError(f"device {device.serial} is {device.status}: it gets no uploader")
    issued = credentials.issue(device.serial)
    registered_at = await repository.register(
        session=session,
        device_id=device.id,
        secret_digest=issued.secret_digest,
        token_digest=issued.token_digest,
        by=admin.user_id,
    )
    return Registered(device, issued.api_secret, issued.token, registered_at)


async def revoke_uploader(*, session: AsyncSession, admin: Principal, device_id: UUID) -> tuple[Device, bool]:
    """Stop the device's uploader (its credentials no longer work); whether there was one."""
    device = await site_device(session, admin, device_id)
    return device, await repository.revoke(session=session, device_id=device.id)


async def upload_entries(
    *, session: AsyncSession, gateway: ReadingsGateway | None, uploader: Uploader, body: object
) -> list[dict[str, Any]]:
    """Readings to the broker as the device (answered once it holds them); other entries kept."""
    try:
        upload = read_upload(body, serial=uploader.serial)
        kept = [_document(entry, index) for index, entry in enumerate(upload.kept)]
    except EntryError as error:
        raise InvalidRequestError(str(error)) from None
    if upload.readings:
        if gateway is None:
            raise BrokerUnavailableError("this server runs without a message broker: it takes no readings")
        await gateway.publish(uploader.serial, upload.readings)
    await _keep(session, uploader, "entries", kept, replace=False)
    return upload.answered + [d.body for d in kept]


async def read_entries(
    *, session: AsyncSession, uploader: Uploader, query: ReadQuery, kind: str | None
) -> list[dict[str, Any]]:
    wanted = kind or query.kind
    if wanted is not None and wanted not in _SERIES_OF_TYPE:
        raise InvalidRequestError(f"entries of type {wanted!r} are not served; sgv or mbg")
    series = [_SERIES_OF_TYPE[wanted]] if wanted else list(_SERIES_OF_TYPE.values())
    rows = await repository.glucose_entries(
        session=session, patient_id=uploader.patient_id, series=series, window=query.window, limit=query.count
    )
    return [
        listed(
            r.series,
            r.serial,
            r.measured_at,
            r.value,
            None if r.previous_at is None or r.previous_value is None else (r.previous_at, r.previous_value),
        )
        for r in rows
    ]


async def store_documents(
    *, session: AsyncSession, uploader: Uploader, collection: str, body: object, replace: bool
) -> list[dict[str, Any]]:
    try:
        kept = [
            _document(item, index)
            for index, item in enumerate(documents_of(body, what=collection, limit=1000))
        ]
    except EntryError as error:
        raise InvalidRequestError(str(error)) from None
    await _keep(session, uploader, collection, kept, replace=replace)
    return [d.body for d in kept]


async def read_documents(
    *, session: AsyncSession, uploader: Uploader, collection: str, query: ReadQuery
) -> list[dict[str, Any]]:
    found = await repository.documents(
        session=session,
        patient_id=uploader.patient_id,
        collection=collection,
        window=query.window,
        limit=query.count,
    )
    return [d.body for d in found]


async def delete_document(*, session: AsyncSession, uploader: Uploader, collection: str, key: str) -> bool:
    return await repository.delete_document(
        session=session, patient_id=uploader.patient_id, collection=collection, key=key
    )


async def _keep(
    session: AsyncSession, uploader: Uploader, collection: str, kept: list[Document], *, replace: bool
) -> None:
    await repository.store_documents(
        session=session,
        patient_id=uploader.patient_id,
        device_id=uploader.device_id,
        collection=collection,
        documents=kept,
        replace=replace,
    )


def _document(item: dict[str, Any], index: int) -> Document:
    """A document as kept: its ``_id`` (the client's, or a digest of its content) and its time."""
    body = {k: v for k, v in item.items() if k != "_id"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(canonical.encode()) > MAX_DOCUMENT_BYTES:
        raise EntryError(index, f"is larger than {MAX_DOCUMENT_BYTES} bytes")
    given = item.get("_id")
    key = (
        given.lower()
        if isinstance(given, str) and _OBJECT_ID.match(given)
        else hashlib.sha1(canonical.encode()).hexdigest()[:24]
    )
    return Document(key, _occurred_at(item, index), {"_id": key, **body})


def _occurred_at(item: dict[str, Any], index: int) -> datetime:
    """``created_at``, else ``timestamp`` / ``date`` / ``mills`` (ms) or ``dateString``; else now."""
    created = item.get("created_at")
    if isinstance(created, str):
        return entry_time({"dateString": created}, index)
    for name in ("timestamp", "date", "mills"):
        value = item.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return entry_time({"date": value}, index)
        if isinstance(value, str):
            return entry_time({"dateString": value}, index)
    if isinstance(item.get("dateString"), str):
        return entry_time(item, index)
    return datetime.now(UTC)
