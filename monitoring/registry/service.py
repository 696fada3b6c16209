"""Enrolment: sites, patients with their care plan, devices and their assignment."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from devices.contract import DEVICE_ID_PATTERN
from devices.kinds import DeviceKind
from monitoring.access.repository import team_in_site
from monitoring.catalogue import Series
from monitoring.domain import Condition, DeviceState
from monitoring.domain import time_zone as zone_named
from monitoring.errors import ConflictError, InvalidRequestError, NotFoundError
from monitoring.registry import repository
from monitoring.registry.broker_auth import BrokerHashes
from monitoring.registry.careplans import CarePlan, Threshold, default_thresholds
from monitoring.storage.models import Device, Patient, Site


@dataclass(frozen=True, slots=True)
class EnrolledPatient:
    patient: Patient
    thresholds: dict[Series, Threshold]


async def ensure_site(*, session: AsyncSession, code: str, name: str) -> Site:
    site = await repository.get_site_by_code(session=session, code=code)
    if site is None:
        site = Site(code=code, name=name)
        session.add(site)
        await session.flush()
    return site


async def enrol_at_site(
    *,
    session: AsyncSession,
    site_id: UUID,
    mrn: str,
    display_name: str,
    conditions: Iterable[Condition],
    birth_date: date | None = None,
    overrides: Mapping[Series, Threshold] | None = None,
    care_team_id: UUID | None = None,
    time_zone: str = "UTC",
) -> EnrolledPatient:
    """An admin's enrolment: the team must be the site's, and an MRN is enrolled once per site."""
    if care_team_id is not None:
        await team_in_site(session=session, team_id=care_team_id, site_id=site_id)
    site = await repository.get_site(session=session, site_id=site_id)
    if site is None:
        raise NotFoundError(f"site {site_id} does not exist")
    taken = await repository.get_patient_by_mrn(session=session, site_id=site_id, mrn=mrn)
    if taken is not None:
        raise ConflictError(f"MRN {mrn!r} is already enrolled at your site (patient {taken.id})")
    return await enrol_patient(
        session=session,
        site=site,
        mrn=mrn,
        display_name=display_name,
        conditions=conditions,
        birth_date=birth_date,
        overrides=overrides,
        care_team_id=care_team_id,
        time_zone=time_zone,
    )


async def enrol_patient(
    *,
    session: AsyncSession,
    site: Site,
    mrn: str,
    display_name: str,
    conditions: Iterable[Condition],
    birth_date: date | None = None,
    overrides: Mapping[Series, Threshold] | None = None,
    care_team_id: UUID | None = None,
    time_zone: str = "UTC",
    enrolled_at: datetime | None = None,
) -> EnrolledPatient:
    """Create a patient whose care plan starts from the defaults of their conditions."""
    wanted = sorted(set(conditions))
    patient = Patient(
        site_id=site.id,
        care_team_id=care_team_id,
        mrn=mrn,
        display_name=display_name,
        birth_date=birth_date,
        conditions=[c.value for c in wanted],
        time_zone=zone_named(time_zone).key,
    )
    if enrolled_at is not None:
        patient.enrolled_at = enrolled_at
    session.add(patient)
    await session.flush()
    thresholds = default_thresholds(wanted)
    thresholds.update(overrides or {})
    repository.add_thresholds(session=session, patient_id=patient.id, thresholds=thresholds.values())
    await session.flush()
    return EnrolledPatient(patient, thresholds)


# Broker accounts of the service itself look like these; no device may take such a name as its
# MQTT username (= its serial), or it could sign in as, or be confused with, the service.
RESERVED_SERIALS = frozenset({"admin", "root", "mosquitto", "ingest", "monitoring", "service", "broker"})
RESERVED_PREFIXES = ("rpm-", "rpm_", "svc-", "service-")


def reserved(serial: str, service_accounts: Iterable[str] = ()) -> bool:
    name = serial.lower()
    return (
        name in RESERVED_SERIALS
        or name.startswith(RESERVED_PREFIXES)
        or name in {a.lower() for a in service_accounts}
    )


async def register_device(
    *,
    session: AsyncSession,
    serial: str,
    kind: str,
    patient_id: UUID | None = None,
    site_id: UUID | None = None,
    password_hashes: BrokerHashes | None = None,
    service_accounts: Iterable[str] = (),
) -> Device:
    if not re.match(DEVICE_ID_PATTERN, serial):
        raise InvalidRequestError(f"device serial {serial!r} is not a valid MQTT device id")
    if kind not in {k.value for k in DeviceKind}:
        raise InvalidRequestError(
            f"unknown device kind {kind!r}; one of {', '.join(k.value for k in DeviceKind)}"
        )
    # One answer whether the serial is reserved, registered here or registered at another site: a
    # serial is the device's MQTT identity, unique across the deployment, and which of the three it
    # is (or which site holds it) is none of the caller's business.
    if reserved(serial, service_accounts) or await repository.devices_by_serial(
        session=session, serials=[serial]
    ):
        raise ConflictError(
            f"serial {serial!r} is not available; if it is printed on your device, contact support"
        )
    if (
        patient_id is not None
        and await repository.get_patient(session=session, patient_id=patient_id) is None
    ):
        raise NotFoundError(f"patient {patient_id} does not exist")
    device = Device(
        serial=serial,
        kind=kind,
        patient_id=patient_id,
        site_id=site_id,
        mqtt_password_hash=password_hashes.mosquitto if password_hashes else None,
        nats_password_hash=password_hashes.nats if password_hashes else None,
        status=DeviceState.ACTIVE.value,
    )
    session.add(device)
    await session.flush()
    return device


@dataclass(frozen=True, slots=True)
class PatientRecord:
    patient: Patient
    care_plan: CarePlan
    devices: Sequence[Device]


async def require_patient(*, session: AsyncSession, patient_id: UUID) -> Patient:
    patient = await repository.get_patient(session=session, patient_id=patient_id)
    if patient is None:
        raise NotFoundError(f"patient {patient_id} does not exist")
    return patient


async def patient_record(*, session: AsyncSession, patient_id: UUID) -> PatientRecord:
    """A patient with their care plan and devices."""
    patient = await require_patient(session=session, patient_id=patient_id)
    plans = await repository.care_plans(session=session, patient_ids=[patient_id])
    devices = await repository.devices_of(session=session, patient_id=patient_id)
    return PatientRecord(patient, plans[patient_id], devices)


def checked_threshold(**fields: object) -> Threshold:
    """A threshold from request fields, its own consistency rules turned into a 400."""
    try:
        return Threshold(**fields)  # type: ignore[arg-type]
    except ValueError as error:
        raise InvalidRequestError(str(error)) from error


async def set_threshold(*, session: AsyncSession, patient_id: UUID, threshold: Threshold) -> None:
    """Override one series of a patient's care plan (ingestion picks it up within its refresh time)."""
    await require_patient(session=session, patient_id=patient_id)
    await repository.remove_threshold(session=session, patient_id=patient_id, series=threshold.series)
    await session.flush()
    repository.add_thresholds(session=session, patient_id=patient_id, thresholds=[threshold])
    await session.flush()


async def reset_threshold(*, session: AsyncSession, patient_id: UUID, series: Series) -> Threshold | None:
    """Back to the default of the patient's conditions (or none, when they have no default)."""
    patient = await require_patient(session=session, patient_id=patient_id)
    await repository.remove_threshold(session=session, patient_id=patient_id, series=series)
    await session.flush()
    default = default_thresholds(Condition(c) for c in patient.conditions).get(series)
    if default is not None:
        repository.add_thresholds(session=session, patient_id=patient_id, thresholds=[default])
        await session.flush()
    return default
