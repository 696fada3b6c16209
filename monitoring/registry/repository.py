"""All SQL of the registry: sites, patients, care-plan thresholds, devices."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, case, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from devices.kinds import KINDS, metrics_of
from monitoring.catalogue import Series
from monitoring.domain import Condition, DeviceState, PatientState, Severity, time_zone
from monitoring.registry.careplans import CarePlan, Threshold
from monitoring.registry.records import DeviceBrief, DeviceRef
from monitoring.storage.models import CarePlanThreshold, Device, Patient, Site


async def get_site_by_code(*, session: AsyncSession, code: str) -> Site | None:
    result = await session.execute(select(Site).where(Site.code == code))
    return result.scalar_one_or_none()


async def list_patients(
    *,
    session: AsyncSession,
    scope: ColumnElement[bool],
    care_team_id: UUID | None = None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Patient], int]:
    query = select(Patient).where(scope)
    if care_team_id is not None:
        query = query.where(Patient.care_team_id == care_team_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(Patient.display_name, Patient.id).limit(limit).offset(offset))
    return rows.scalars().all(), int(total or 0)


async def active_patients_in(*, session: AsyncSession, scope: ColumnElement[bool]) -> Sequence[Patient]:
    """Every active patient the scope lets the caller see."""
    result = await session.execute(select(Patient).where(scope, Patient.status == PatientState.ACTIVE.value))
    return result.scalars().all()


def quiet(now: datetime) -> ColumnElement[bool]:
    """A device silent for longer than its kind's expected interval, since its last message or,
    never heard, since it was registered (a cuff read twice a day is not offline after an hour)."""
    expected = case({kind.value: spec.expected_interval for kind, spec in KINDS.items()}, value=Device.kind)
    return now - func.coalesce(Device.last_seen_at, Device.created_at) > expected


async def device_briefs_of(
    *, session: AsyncSession, patient_ids: Collection[UUID], now: datetime
) -> list[DeviceBrief]:
    """The active devices of these patients, each saying whether it is quiet."""
    rows = await session.execute(
        select(
            Device.id,
            Device.patient_id,
            Device.kind,
            Device.serial,
            Device.online,
            Device.battery,
            Device.last_seen_at,
            quiet(now),
        ).where(Device.patient_id.in_(list(patient_ids)), Device.status == DeviceState.ACTIVE.value)
    )
    return [
        DeviceBrief(pid_device, patient, kind, serial, online, battery, seen, silent)
        for pid_device, patient, kind, serial, online, battery, seen, silent in rows
        if patient is not None  # chosen by patient: always set
    ]


async def patients_by_id(*, session: AsyncSession, patient_ids: Collection[UUID]) -> Sequence[Patient]:
    result = await session.execute(select(Patient).where(Patient.id.in_(list(patient_ids))))
    return result.scalars().all()


async def get_patient(*, session: AsyncSession, patient_id: UUID) -> Patient | None:
    return await session.get(Patient, patient_id)


async def care_plans(*, session: AsyncSession, patient_ids: Collection[UUID]) -> dict[UUID, CarePlan]:
    """The care plans of the given patients that exist."""
    rows = (
        await session.execute(
            select(Patient.id, Patient.conditions, Patient.time_zone).where(Patient.id.in_(patient_ids))
        )
    ).all()
    conditions = {row.id: frozenset(Condition(c) for c in row.conditions) for row in rows}
    zones = {row.id: time_zone(row.time_zone) for row in rows}
    result = await session.execute(
        select(CarePlanThreshold).where(CarePlanThreshold.patient_id.in_(list(conditions)))
    )
    thresholds: dict[UUID, list[Threshold]] = {patient_id: [] for patient_id in conditions}
    for row in result.scalars():
        thresholds[row.patient_id].append(
            Threshold(
                series=Series(row.series),
                low=row.low,
                high=row.high,
                severity=Severity(row.severity),
                persist_readings=row.persist_readings,
                persist_seconds=row.persist_seconds,
                high_persist_readings=row.high_persist_readings,
                high_persist_seconds=row.high_persist_seconds,
                hysteresis=row.hysteresis,
            )
        )
    return {p: CarePlan(conditions[p], tuple(thresholds[p]), zones[p]) for p in conditions}


async def remove_threshold(*, session: AsyncSession, patient_id: UUID, series: Series) -> None:
    await session.execute(
        delete(CarePlanThreshold).where(
            CarePlanThreshold.patient_id == patient_id, CarePlanThreshold.series == int(series)
        )
    )


def add_thresholds(*, session: AsyncSession, patient_id: UUID, thresholds: Collection[Threshold]) -> None:
    session.add_all(
        CarePlanThreshold(
            patient_id=patient_id,
            series=int(t.series),
            low=t.low,
            high=t.high,
            severity=t.severity.value,
            persist_readings=t.persist_readings,
            persist_seconds=t.persist_seconds,
            high_persist_readings=t.high_persist_readings,
            high_persist_seconds=t.high_persist_seconds,
            hysteresis=t.hysteresis,
        )
        for t in thresholds
    )


async def devices_by_serial(*, session: AsyncSession, serials: Collection[str]) -> dict[str, DeviceRef]:
    result = await session.execute(
        select(Device.id, Device.serial, Device.patient_id, Device.status, Device.kind).where(
            Device.serial.in_(serials)
        )
    )
    return {
        row.serial: DeviceRef(
            id=row.id,
            serial=row.serial,
            patient_id=row.patient_id,
            status=row.status,
            kind=row.kind,
            metrics=metrics_of(row.kind),
        )
        for row in result
    }


async def broker_hashes(*, session: AsyncSession, serials: Collection[str] | None = None) -> dict[str, str]:
    """Broker password hashes of active devices (all of them, or of ``serials``), by serial."""
    query = select(Device.serial, Device.mqtt_password_hash).where(
        Device.status == DeviceState.ACTIVE.value, Device.mqtt_password_hash.is_not(None)
    )
    if serials is not None:
        query = query.where(Device.serial.in_(serials))
    rows = await session.execute(query.order_by(Device.serial))
    return {serial: stored for serial, stored in rows if stored}


async def nats_hashes(*, session: AsyncSession) -> dict[str, str | None]:
    """Active devices that have broker credentials, by serial: their NATS (bcrypt) hash, or None
    for a device provisioned before NATS hashes were kept (it must have its credentials rotated)."""
    rows = await session.execute(
        select(Device.serial, Device.nats_password_hash)
        .where(Device.status == DeviceState.ACTIVE.value, Device.mqtt_password_hash.is_not(None))
        .order_by(Device.serial)
    )
    return {row.serial: row.nats_password_hash for row in rows}


async def set_broker_hashes(*, session: AsyncSession, serial: str, mosquitto: str, nats: str) -> None:
    await session.execute(
        update(Device)
        .where(Device.serial == serial)
        .values(mqtt_password_hash=mosquitto, nats_password_hash=nats)
    )


async def devices_of(*, session: AsyncSession, patient_id: UUID) -> Sequence[Device]:
    result = await session.execute(
        select(Device).where(Device.patient_id == patient_id).order_by(Device.kind, Device.serial)
    )
    return result.scalars().all()


async def count_unstored(*, session: AsyncSession, by_serial: dict[str, int]) -> None:
    """Add refused messages that were over the dead-letter bound to their devices' counts."""
    if not by_serial:
        return
    serials = list(by_serial)
    await session.execute(
        text(
            "UPDATE devices AS d SET refused_unstored = d.refused_unstored + u.n "
            "FROM unnest(CAST(:serials AS varchar[]), CAST(:counts AS bigint[])) AS u(serial, n) "
            "WHERE d.serial = u.serial"
        ),
        {"serials": serials, "counts": [by_serial[s] for s in serials]},
    )


async def record_status(
    *,
    session: AsyncSession,
    device_id: UUID,
    online: bool,
    at: datetime,
    battery: float | None,
    firmware: str | None,
) -> None:
    """Apply a status message unless a newer one has already been applied."""
    await session.execute(
        update(Device)
        .where(Device.id == device_id)
        .where((Device.status_at.is_(None)) | (Device.status_at <= at))
        .values(
            online=online,
            status_at=at,
            battery=func.coalesce(battery, Device.battery),
            firmware=func.coalesce(firmware, Device.firmware),
        )
    )


async def get_patient_by_mrn(*, session: AsyncSession, site_id: UUID, mrn: str) -> Patient | None:
    result = await session.execute(select(Patient).where(Patient.site_id == site_id, Patient.mrn == mrn))
    return result.scalar_one_or_none()


async def team_patients(*, session: AsyncSession, team_id: UUID) -> Sequence[Patient]:
    rows = await session.scalars(
        select(Patient).where(Patient.care_team_id == team_id).order_by(Patient.display_name)
    )
    return rows.all()


async def active_devices_of(*, session: AsyncSession, patient_ids: Collection[UUID]) -> Sequence[Device]:
    rows = await session.scalars(
        select(Device).where(Device.patient_id.in_(patient_ids), Device.status == DeviceState.ACTIVE.value)
    )
    return rows.all()


async def get_device(*, session: AsyncSession, device_id: UUID, lock: bool = False) -> Device | None:
    found: Device | None = await session.get(Device, device_id, with_for_update=lock)
    return found


async def site_devices(
    *, session: AsyncSession, site_id: UUID, unassigned: bool, limit: int, offset: int
) -> tuple[Sequence[Device], int]:
    """The site's devices that are not retired (only the unassigned ones, when asked), by serial."""
    query = select(Device).where(Device.site_id == site_id, Device.status != DeviceState.RETIRED.value)
    if unassigned:
        query = query.where(Device.patient_id.is_(None))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(Device.serial).limit(limit).offset(offset))
    return rows.all(), total


async def get_site(*, session: AsyncSession, site_id: UUID) -> Site | None:
    found: Site | None = await session.get(Site, site_id)
    return found


async def assign_unteamed(*, session: AsyncSession, site_id: UUID, team_id: UUID) -> None:
    """Give every patient of the site who has no care team this one."""
    await session.execute(
        update(Patient)
        .where(Patient.site_id == site_id, Patient.care_team_id.is_(None))
        .values(care_team_id=team_id)
    )
