"""FHIR R4 reads by id (Patient, Observation, Flag, Device) and the CapabilityStatement.

A resource outside the caller's reach answers 404, exactly as one that does not exist."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from importlib.metadata import version
from typing import Any, Protocol, TypeVar
from uuid import UUID

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access.principal import Principal
from monitoring.api.deps import SessionDep
from monitoring.api.fhir_http import FHIR_ERRORS, FHIR_JSON, METADATA_ROUTE, FhirResponse, fhir_base
from monitoring.api.schemas.fhir import Resource
from monitoring.api.security import PrincipalDep, visible_patient
from monitoring.errors import NotFoundError
from monitoring.fhir import repository as fhir_repository
from monitoring.fhir import resources
from monitoring.fhir.capability import capability_statement
from monitoring.fhir.search import resource_of
from monitoring.registry import repository as registry

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])
meta_router = APIRouter(prefix="/fhir", tags=["FHIR R4"])  # no sign-in: clients read it first
Handler = Callable[..., Coroutine[Any, Any, FhirResponse]]


def _read(path: str, summary: str) -> Callable[[Handler], Handler]:
    resource = {"schema": {"$ref": "#/components/schemas/Resource"}}
    responses: dict[int | str, dict[str, Any]] = {
        **FHIR_ERRORS,
        200: {"description": "The resource.", "content": {FHIR_JSON: resource}},
    }
    return router.get(path, summary=summary, responses=responses, response_model=Resource)


@meta_router.get(
    "/metadata",
    name=METADATA_ROUTE,
    summary="The CapabilityStatement: what this FHIR API supports",
    response_model=Resource,
    responses={200: {"content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/Resource"}}}}},
)
async def metadata(request: Request) -> FhirResponse:
    return FhirResponse(capability_statement(fhir_base(request), version("rpm-monitoring")))


def _missing(kind: str, resource_id: str) -> NotFoundError:
    return NotFoundError(f"{kind}/{resource_id} does not exist or is not within your reach")


async def _reachable(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    patient_id: UUID | None,
    kind: str,
    rid: str,
) -> None:
    if patient_id is None:
        raise _missing(kind, rid)
    try:
        await visible_patient(request=request, session=session, principal=principal, patient_id=patient_id)
    except NotFoundError as error:
        raise _missing(kind, rid) from error


def _uuid(kind: str, resource_id: str) -> UUID:
    try:
        return UUID(resource_id)
    except ValueError as error:
        raise _missing(kind, resource_id) from error


@_read("/Patient/{patient_id}", "Read a patient")
async def read_patient(
    request: Request, session: SessionDep, principal: PrincipalDep, patient_id: str
) -> FhirResponse:
    found = await fhir_repository.patient_with_site(session=session, patient_id=_uuid("Patient", patient_id))
    await _reachable(request, session, principal, found[0].id if found else None, "Patient", patient_id)
    assert found is not None
    return FhirResponse(resources.patient(*found))


@_read("/Observation/{observation_id}", "Read an observation (a stored reading)")
async def read_observation(
    request: Request, session: SessionDep, principal: PrincipalDep, observation_id: str
) -> FhirResponse:
    parsed = resources.parse_observation_id(observation_id)
    row = None
    if parsed is not None:
        series, panel, device_id, at = parsed
        row = await fhir_repository.reading(
            session=session, device_id=device_id, series=series, measured_at=at
        )
        if row is not None and panel and row.diastolic is None:
            row = None  # not a panel after all
    patient_id = row.patient_id if row else None
    await _reachable(request, session, principal, patient_id, "Observation", observation_id)
    assert row is not None
    assert parsed is not None
    return FhirResponse(resource_of(row, panels=parsed[1]))


@_read("/Flag/{alert_id}", "Read an alert as a Flag")
async def read_flag(
    request: Request, session: SessionDep, principal: PrincipalDep, alert_id: str
) -> FhirResponse:
    alert = await fhir_repository.alert(session=session, alert_id=_uuid("Flag", alert_id))
    return await _answer(request, session, principal, alert, "Flag", alert_id, resources.flag)


@_read("/Device/{device_id}", "Read a device")
async def read_device(
    request: Request, session: SessionDep, principal: PrincipalDep, device_id: str
) -> FhirResponse:
    device = await registry.get_device(session=session, device_id=_uuid("Device", device_id))
    return await _answer(request, session, principal, device, "Device", device_id, resources.device)


class _OfAPatient(Protocol):
    @property
    def patient_id(self) -> UUID | None: ...


R = TypeVar("R", bound=_OfAPatient)


async def _answer(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    found: R | None,
    kind: str,
    rid: str,
    render: Callable[[R], dict[str, Any]],
) -> FhirResponse:
    """The resource if it exists and its patient is within the caller's reach; 404 otherwise."""
    await _reachable(request, session, principal, found.patient_id if found else None, kind, rid)
    assert found is not None
    return FhirResponse(render(found))
