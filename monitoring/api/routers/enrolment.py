"""Enrolment (admins): patients with their care plan, and devices with their MQTT credentials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Query, Request

from devices.contract import readings_topic
from monitoring.api.auditing import note_patients
from monitoring.api.deps import PageDep, SessionDep, SettingsDep
from monitoring.api.nightscout_http import PREFIX as NIGHTSCOUT_PREFIX
from monitoring.api.schemas.common import ErrorBody, Page
from monitoring.api.schemas.nightscout import UploaderCredentials, UploaderRevoked
from monitoring.api.schemas.patients import (
    Credentials,
    DeviceAssignIn,
    DeviceIn,
    DeviceOut,
    PatientDetail,
    PatientIn,
    patient_detail,
)
from monitoring.api.security import AdminDep
from monitoring.config import Settings
from monitoring.nightscout import service as nightscout
from monitoring.registry import devices
from monitoring.registry import repository as registry
from monitoring.registry.service import enrol_at_site, patient_record

router = APIRouter(tags=["enrolment"])
_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Something the request names is not acceptable."},
    403: {"model": ErrorBody, "description": "Admins only."},
    404: {"model": ErrorBody, "description": "Not at your site."},
    409: {"model": ErrorBody, "description": "Not allowed in the current state, or a duplicate."},
}


F = TypeVar("F", bound=Callable[..., Any])


def _post(path: str, summary: str, *, created: bool = False) -> Callable[[F], F]:
    return router.post(path, status_code=201 if created else 200, summary=summary, responses=_REFUSED)


def _credentials(provisioned: devices.Provisioned, settings: Settings) -> Credentials:
    return Credentials(
        device=DeviceOut.model_validate(provisioned.device),
        mqtt_username=provisioned.mqtt_username,
        mqtt_password=provisioned.mqtt_password,
        readings_topic=readings_topic(provisioned.mqtt_username, settings.mqtt.topic_root),
    )


@router.post(
    "/patients",
    status_code=201,
    summary="Enrol a patient; the care plan starts from their conditions",
    responses=_REFUSED,
)
async def enrol(session: SessionDep, admin: AdminDep, body: PatientIn) -> PatientDetail:
    enrolled = await enrol_at_site(
        session=session,
        site_id=admin.site_id,
        mrn=body.mrn,
        display_name=body.display_name,
        conditions=body.conditions,
        birth_date=body.birth_date,
        care_team_id=body.care_team_id,
        time_zone=body.time_zone,
        overrides={t.series: t for t in (entry.threshold() for entry in body.care_plan)},
    )
    return patient_detail(await patient_record(session=session, patient_id=enrolled.patient.id))


@router.get("/devices", summary="Devices registered at your site", responses=_REFUSED)
async def list_devices(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    page: PageDep,
    unassigned: Annotated[bool, Query(description="Only devices not assigned to a patient.")] = False,
) -> Page[DeviceOut]:
    rows, total = await registry.site_devices(
        session=session, site_id=admin.site_id, unassigned=unassigned, limit=page.limit, offset=page.offset
    )
    note_patients(request, (d.patient_id for d in rows if d.patient_id is not None), total=total)
    return Page(
        items=[DeviceOut.model_validate(d) for d in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/devices",
    status_code=201,
    summary="Register a device; its MQTT password is shown once",
    responses=_REFUSED,
)
async def register(
    session: SessionDep, settings: SettingsDep, admin: AdminDep, body: DeviceIn
) -> Credentials:
    provisioned = await devices.provision(
        session=session,
        admin=admin,
        serial=body.serial,
        kind=body.kind,
        patient_id=body.patient_id,
        service_accounts=settings.mqtt.service_accounts(),
    )
    return _credentials(provisioned, settings)


@router.post(
    "/devices/{device_id}/credentials",
    summary="Issue new MQTT credentials (old ones stop working)",
    responses=_REFUSED,
)
async def rotate(session: SessionDep, settings: SettingsDep, admin: AdminDep, device_id: UUID) -> Credentials:
    provisioned = await devices.rotate_credentials(session=session, admin=admin, device_id=device_id)
    return _credentials(provisioned, settings)


@_post("/devices/{device_id}/assign", "Assign a device to a patient")
async def assign(session: SessionDep, admin: AdminDep, device_id: UUID, body: DeviceAssignIn) -> DeviceOut:
    device = await devices.assign(
        session=session, admin=admin, device_id=device_id, patient_id=body.patient_id
    )
    return DeviceOut.model_validate(device)


@router.post(
    "/devices/{device_id}/unassign",
    summary="Unassign a device: its readings go to dead letters",
    responses=_REFUSED,
)
async def unassign(session: SessionDep, admin: AdminDep, device_id: UUID) -> DeviceOut:
    return DeviceOut.model_validate(await devices.unassign(session=session, admin=admin, device_id=device_id))


@_post("/devices/{device_id}/retire", "Retire a device for good")
async def retire(session: SessionDep, admin: AdminDep, device_id: UUID) -> DeviceOut:
    return DeviceOut.model_validate(await devices.retire(session=session, admin=admin, device_id=device_id))


@router.post(
    "/devices/{device_id}/nightscout",
    status_code=201,
    summary="Register a Nightscout uploader for a CGM; its API secret and token are shown once",
    responses=_REFUSED,
)
async def register_uploader(
    request: Request, session: SessionDep, admin: AdminDep, device_id: UUID
) -> UploaderCredentials:
    registered = await nightscout.register_uploader(session=session, admin=admin, device_id=device_id)
    return UploaderCredentials(
        device=DeviceOut.model_validate(registered.device),
        base_url=f"{str(request.base_url).rstrip('/')}{NIGHTSCOUT_PREFIX}/{registered.device.serial}/",
        api_secret=registered.api_secret,
        token=registered.token,
        registered_at=registered.registered_at,
    )


@router.delete(
    "/devices/{device_id}/nightscout",
    summary="Revoke the device's Nightscout uploader",
    responses=_REFUSED,
)
async def revoke_uploader(session: SessionDep, admin: AdminDep, device_id: UUID) -> UploaderRevoked:
    device, revoked = await nightscout.revoke_uploader(session=session, admin=admin, device_id=device_id)
    return UploaderRevoked(device=DeviceOut.model_validate(device), revoked=revoked)
