"""FHIR R4 read API: Observation search, Observation/$lastn and Flag search, as searchset Bundles."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from monitoring.alerts import repository as alert_repository
from monitoring.api.deps import SessionDep
from monitoring.api.schemas.common import ErrorBody
from monitoring.api.schemas.fhir import Bundle
from monitoring.api.security import PrincipalDep, visible_patient
from monitoring.fhir import resources
from monitoring.fhir.search import date_range, kinds_for, observations

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])
FHIR_JSON = "application/fhir+json"
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A search parameter the server does not accept."},
    404: {"model": ErrorBody, "description": "No such patient in your care teams."},
}


PatientParam = Annotated[UUID, Query(description="The patient's id (Patient/{id}).")]
CodeParam = Annotated[
    list[str] | None, Query(description="LOINC code, bare or as http://loinc.org|code; commas mean or.")
]


Handler = Callable[..., Coroutine[Any, Any, "FhirResponse"]]


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def _route(path: str, summary: str) -> Callable[[Handler], Handler]:
    bundle = {"schema": {"$ref": "#/components/schemas/Bundle"}}
    responses = {**_ERRORS, 200: {"description": "A searchset Bundle.", "content": {FHIR_JSON: bundle}}}
    return router.get(path, summary=summary, responses=responses, response_model=Bundle)


@_route("/Observation", "Search a patient's observations, newest first")
async def search_observations(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient: PatientParam,
    code: CodeParam = None,
    date: Annotated[
        list[str] | None, Query(description="With ge, gt, le or lt prefix; default 92 days.")
    ] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=1000)] = 100,
) -> FhirResponse:
    await visible_patient(request=request, session=session, principal=principal, patient_id=patient)
    start, end = date_range(date or [], datetime.now(UTC))
    found = await observations(
        session=session, patient_id=patient, kinds=kinds_for(code or []), start=start, end=end, per_kind=count
    )
    return FhirResponse(resources.bundle(found[:count], self_url=str(request.url)))


@_route("/Observation/$lastn", "The most recent observations of each code for a patient")
async def last_observations(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient: PatientParam,
    code: CodeParam = None,
    max_: Annotated[int, Query(alias="max", ge=1, le=100)] = 1,
) -> FhirResponse:
    await visible_patient(request=request, session=session, principal=principal, patient_id=patient)
    start, end = date_range([], datetime.now(UTC))
    found = await observations(
        session=session, patient_id=patient, kinds=kinds_for(code or []), start=start, end=end, per_kind=max_
    )
    return FhirResponse(resources.bundle(found, self_url=str(request.url)))


@_route("/Flag", "A patient's alerts as Flag resources, newest first")
async def search_flags(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient: PatientParam,
    count: Annotated[int, Query(alias="_count", ge=1, le=1000)] = 100,
) -> FhirResponse:
    await visible_patient(request=request, session=session, principal=principal, patient_id=patient)
    alerts = await alert_repository.flags_of(session=session, patient_id=patient, limit=count)
    return FhirResponse(resources.bundle([resources.flag(a) for a in alerts], self_url=str(request.url)))
