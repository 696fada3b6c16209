"""A device's life at a site: registered with MQTT credentials, assigned, unassigned, retired.

The MQTT password is generated here, returned once and stored only as a hash
in the broker's own format (``registry.broker_auth``), from which the broker's
password file is written; rotating it issues a new one. A device that is not assigned to
a patient, or is retired, has its readings refused into dead letters by the
ingestion service (which rereads devices at least every 30 seconds).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access.principal import Principal
from monitoring.domain import DeviceState
from monitoring.errors import ConflictError, NotFoundError
from monitoring.registry import repository
from monitoring.registry.broker_auth import BrokerHashes, broker_hashes_off_loop
from monitoring.registry.service import register_device
from monitoring.storage.models import Device, Patient


@dataclass(frozen=True, slots=True)
class Provisioned:
    device: Device
    mqtt_username: str  # the device's serial, as the broker's ACL patterns expect
    mqtt_password: str  # shown once


async def _secret() -> tuple[str, BrokerHashes]:
    password = secrets.token_urlsafe(24)
    return password, await broker_hashes_off_loop(password)


async def _site_patient(session: AsyncSession, admin: Principal, patient_id: UUID) -> Patient:
    patient = await repository.get_patient(session=session, patient_id=patient_id)
    if patient is None or not admin.sees(patient):
        raise NotFoundError(f"patient {patient_id} does not exist at your site")
    return patient


async def site_device(session: AsyncSession, admin: Principal, device_id: UUID) -> Device:
    device = await repository.get_device(session=session, device_id=device_id, lock=True)
    if device is None or device.site_id != admin.site_id:
        raise NotFoundError(f"device {device_id} is not registered at your site")
    return device


async def provision(
    *,
    session: AsyncSession,
    admin: Principal,
    serial: str,
    kind: str,
    patient_id: UUID | None,
    service_accounts: Iterable[str] = (),
) -> Provisioned:
    """Register a device at the admin's site; ``service_accounts`` are broker names no device may take."""
    if patient_id is not None:
        await _site_patient(session, admin, patient_id)
    password, hashed = await _secret()
    device = await register_device(
        session=session,
        serial=serial,
        kind=kind,
        patient_id=patient_id,
        site_id=admin.site_id,
        password_hashes=hashed,
        service_accounts=service_accounts,
    )
    return Provisioned(device, serial, password)


async def rotate_credentials(*, session: AsyncSession, admin: Principal, device_id: UUID) -> Provisioned:
    device = await site_device(session, admin, device_id)
    if device.status == DeviceState.RETIRED.value:
        raise ConflictError("a retired device gets no new credentials")
    password, hashed = await _secret()
    device.mqtt_password_hash, device.nats_password_hash = hashed.mosquitto, hashed.nats
    await session.flush()
    return Provisioned(device, device.serial, password)


async def assign(*, session: AsyncSession, admin: Principal, device_id: UUID, patient_id: UUID) -> Device:
    device = await site_device(session, admin, device_id)
    await _site_patient(session, admin, patient_id)
    if device.status == DeviceState.RETIRED.value:
        raise ConflictError(f"device {device.serial} is retired and cannot be assigned")
    if device.patient_id is not None and device.patient_id != patient_id:
        raise ConflictError(f"device {device.serial} is assigned to another patient; unassign it first")
    device.patient_id = patient_id
    await session.flush()
    return device


async def unassign(*, session: AsyncSession, admin: Principal, device_id: UUID) -> Device:
    device = await site_device(session, admin, device_id)
    if device.patient_id is None:
        raise ConflictError(f"device {device.serial} is not assigned")
    device.patient_id = None
    await session.flush()
    return device


async def retire(*, session: AsyncSession, admin: Principal, device_id: UUID) -> Device:
    device = await site_device(session, admin, device_id)
    if device.status == DeviceState.RETIRED.value:
        raise ConflictError(f"device {device.serial} is already retired")
    device.status, device.patient_id = DeviceState.RETIRED.value, None
    device.mqtt_password_hash = device.nats_password_hash = None
    await session.flush()
    return device


async def issue_passwords(*, session: AsyncSession, serials: Iterable[str]) -> dict[str, str]:
    """New MQTT passwords for registered devices (the demo's simulated fleet); returned once."""
    issued: dict[str, str] = {}
    for serial in serials:
        password, hashed = await _secret()
        await repository.set_broker_hashes(
            session=session, serial=serial, mosquitto=hashed.mosquitto, nats=hashed.nats
        )
        issued[serial] = password
    return issued
