"""FHIR R4 searches: Observation, Observation/$lastn, Flag, Patient and Device, as searchset
Bundles a client can page through (``next`` / ``previous`` links, ``total``, ``_count`` from 0)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from monitoring.api.auditing import note_patients
from monitoring.api.deps import SessionDep
from monitoring.api.fhir_http import FHIR_ERRORS, FHIR_JSON, FhirResponse, fhir_base
from monitoring.api.schemas.fhir import Bundle
from monitoring.api.security import PrincipalDep, visible_patient
from monitoring.fhir import paging, resources
from monitoring.fhir import repository as fhir_repository
from monitoring.fhir.paging import Cursor, Found
from monitoring.fhir.search import date_range, kinds_for, newest_of_each, resource_of, series_for

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])

PatientParam = Annotated[UUID, Query(description="The patient's id (Patient/{id}).")]
CodeParam = Annotated[
    list[str] | None, Query(description="LOINC code, bare or as http://loinc.org|code; commas mean or.")
]
CountParam = Annotated[
    int, Query(alias="_count", ge=0, le=1000, description="Entries per page; 0: only the total.")
]
PageParam = Annotated[
    str | None,
    Query(alias=paging.PAGE_PARAM, description="A page token from a Bundle's next or previous link."),
]
TotalParam = Annotated[
    Literal["accurate", "estimate", "none"],
    Query(alias="_total", description="none leaves total out (saves counting); estimate counts too."),
]
Handler = Callable[..., Coroutine[Any, Any, FhirResponse]]


def _route(path: str, summary: str) -> Callable[[Handler], Handler]:
    bundle = {"schema": {"$ref": "#/components/schemas/Bundle"}}
    responses = {**FHIR_ERRORS, 200: {"description": "A searchset Bundle.", "content": {FHIR_JSON: bundle}}}
    return router.get(path, summary=summary, responses=responses, response_model=Bundle)


def _answer(
    request: Request,
    kind: str,
    found: Found[Any],
    entries: list[dict[str, Any]],
    *,
    query: list[tuple[str, str]],
    key: Callable[[Any], tuple[Any, ...]],
    cursor: Cursor | None,
    count: int,
    total: int | None,
    total_mode: str,
) -> FhirResponse:
    """The searchset: ``total`` unless the caller said ``_total=none``, and links that repeat the
    search with its page size."""
    total = None if total_mode == "none" else total
    base = fhir_base(request)
    query = [*query, ("_count", str(count)), *([("_total", total_mode)] if total_mode != "accurate" else [])]
    links = paging.links(found, url=f"{base}/{kind}", query=query, key=key, came_with=cursor)
    return FhirResponse(resources.bundle(entries, base=base, links=links, total=total))


@_route("/Observation", "Search a patient's observations, newest first, a page at a time")
async def search_observations(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient: PatientParam,
    code: CodeParam = None,
    date: Annotated[
        list[str] | None, Query(description="With ge, gt, le or lt prefix; default the last 92 days.")
    ] = None,
    count: CountParam = 100,
    page: PageParam = None,
    total_mode: TotalParam = "accurate",
) -> FhirResponse:
    await visible_patient(request=request, session=session, principal=principal, patient_id=patient)
    cursor = paging.decode(page, (datetime, int, UUID))
    start, end = date_range(date or [], datetime.now(UTC))
    series, panels = series_for(kinds_for(code or []))
    found: Found[fhir_repository.ReadingRow] = Found([], False, False)
    if count:
        found = await fhir_repository.readings_page(
            session=session,
            patient_id=patient,
            series=series,
            panels=panels,
            start=start,
            end=end,
            cursor=cursor,
            limit=count,
        )
    total = None
    if total_mode != "none":
        total = await fhir_repository.count_readings(
            session=session, patient_id=patient, series=series, start=start, end=end
        )
    pinned = [  # later pages search exactly the first page's window
        ("patient", str(patient)),
        *(("code", c) for c in code or []),
        ("date", f"ge{start.isoformat()}"),
        ("date", f"lt{end.isoformat()}"),
    ]
    return _answer(
        request,
        "Observation",
        found,
        [resource_of(row, panels) for row in found.rows],
        query=pinned,
        key=lambda r: (r.measured_at, r.series, r.device_id),
        cursor=cursor,
        count=count,
        total=total,
        total_mode=total_mode,
    )


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
    found = await newest_of_each(
        session=session, patient_id=patient, kinds=kinds_for(code or []), start=start, end=end, per_kind=max_
    )
    links = [{"relation": "self", "url": str(request.url)}]
    return FhirResponse(resources.bundle(found, base=fhir_base(request), links=links, total=len(found)))


@_route("/Flag", "A patient's alerts as Flag resources, newest first, a page at a time")
async def search_flags(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient: PatientParam,
    count: CountParam = 100,
    page: PageParam = None,
    total_mode: TotalParam = "accurate",
) -> FhirResponse:
    await visible_patient(request=request, session=session, principal=principal, patient_id=patient)
    cursor = paging.decode(page, (datetime, UUID))
    found, total = await fhir_repository.flags_page(
        session=session, patient_id=patient, cursor=cursor, limit=count, counted=total_mode != "none"
    )
    return _answer(
        request,
        "Flag",
        found,
        [resources.flag(a) for a in found.rows],
        query=[("patient", str(patient))],
        key=lambda a: (a.opened_at, a.id),
        cursor=cursor,
        count=count,
        total=total,
        total_mode=total_mode,
    )


def _identifiers(values: list[str] | None) -> list[tuple[str | None, str]]:
    """``identifier`` tokens as (system or None, value)."""
    found = []
    for token in (t for value in values or [] for t in value.split(",")):
        system, bar, value = token.rpartition("|")
        found.append((system if bar and system else None, value))
    return found


def _site_mrns(identifiers: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    """(site code or None, MRN) of each identifier; a system other than a site's MRN matches nobody."""
    wanted: list[tuple[str | None, str]] = []
    for system, value in identifiers:
        if system is None:
            wanted.append((None, value))
        elif system.startswith("urn:rpm:site:") and system.endswith(":mrn"):
            wanted.append((system.removeprefix("urn:rpm:site:").removesuffix(":mrn"), value))
        else:
            wanted.append(("", ""))  # no site has an empty code: matches nobody, as FHIR expects
    return wanted


@_route("/Patient", "Search the patients in your reach by id, MRN or name, a page at a time")
async def search_patients(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    id_: Annotated[list[UUID] | None, Query(alias="_id")] = None,
    identifier: Annotated[
        list[str] | None, Query(description="The MRN, bare or as urn:rpm:site:<site code>:mrn|<MRN>.")
    ] = None,
    name: Annotated[str | None, Query(max_length=100, description="A part of the name.")] = None,
    count: CountParam = 100,
    page: PageParam = None,
    total_mode: TotalParam = "accurate",
) -> FhirResponse:
    cursor = paging.decode(page, (UUID,))
    filters = fhir_repository.patient_filters(
        ids=id_ or [], mrns=_site_mrns(_identifiers(identifier)), name=name
    )
    found, total = await fhir_repository.patients_page(
        session=session,
        scope=principal.patient_scope(),
        filters=filters,
        cursor=cursor,
        limit=count,
        counted=total_mode != "none",
    )
    note_patients(request, (p.id for p, _ in found.rows), total=total)
    query = [
        *(("_id", str(i)) for i in id_ or []),
        *(("identifier", i) for i in identifier or []),
        *([("name", name)] if name else []),
    ]
    return _answer(
        request,
        "Patient",
        found,
        [resources.patient(p, code) for p, code in found.rows],
        query=query,
        key=lambda row: (row[0].id,),
        cursor=cursor,
        count=count,
        total=total,
        total_mode=total_mode,
    )


@_route("/Device", "Search the devices of the patients in your reach, a page at a time")
async def search_devices(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient: Annotated[list[UUID] | None, Query(description="The patient's id (Patient/{id}).")] = None,
    identifier: Annotated[
        list[str] | None, Query(description=f"The serial, bare or as {resources.DEVICE_SERIAL}|<serial>.")
    ] = None,
    count: CountParam = 100,
    page: PageParam = None,
    total_mode: TotalParam = "accurate",
) -> FhirResponse:
    cursor = paging.decode(page, (UUID,))
    serials = [v if s in (None, resources.DEVICE_SERIAL) else "" for s, v in _identifiers(identifier)]
    filters = fhir_repository.device_filters(patient_ids=patient or [], serials=serials)
    found, total = await fhir_repository.devices_page(
        session=session,
        scope=principal.patient_scope(),
        filters=filters,
        cursor=cursor,
        limit=count,
        counted=total_mode != "none",
    )
    note_patients(request, (d.patient_id for d in found.rows if d.patient_id), total=total)
    query = [*(("patient", str(p)) for p in patient or []), *(("identifier", i) for i in identifier or [])]
    return _answer(
        request,
        "Device",
        found,
        [resources.device(d) for d in found.rows],
        query=query,
        key=lambda d: (d.id,),
        cursor=cursor,
        count=count,
        total=total,
        total_mode=total_mode,
    )
