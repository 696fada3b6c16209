"""FHIR Bulk Data export (the async pattern) for a site's administrators: kick-off at system,
Group (a care team) or Patient level answers 202 with a status URL; polling it answers 202 with
progress until the manifest (200); the NDJSON files are fetched with the same bearer token.
Exports run in the scheduler (``fhir.bulk_writer``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse

from monitoring.access import repository as access
from monitoring.api.deps import SessionDep, SettingsDep
from monitoring.api.fhir_http import (
    FHIR_ERRORS,
    FHIR_JSON,
    FhirResponse,
    fhir_base,
    information_response,
    outcome_response,
)
from monitoring.api.schemas.fhir import BulkManifest, OperationOutcome
from monitoring.api.security import AdminDep
from monitoring.errors import InvalidRequestError, NotFoundError
from monitoring.fhir import bulk_repository
from monitoring.fhir.bulk import NDJSON, OUTPUT_FORMATS, export_types, manifest
from monitoring.fhir.bulk_writer import folder, remove

router = APIRouter(prefix="/fhir", tags=["FHIR Bulk Data"])
_OUTCOME = {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}
_KICK_OFF: dict[int | str, dict[str, Any]] = {
    **FHIR_ERRORS,
    202: {
        "model": OperationOutcome,
        "content": _OUTCOME,
        "description": "Accepted: poll the Content-Location header's status URL.",
    },
}
TypeParam = Annotated[
    list[str] | None,
    Query(alias="_type", description="Patient, Device, Observation, Flag (commas: several)."),
]
SinceParam = Annotated[
    datetime | None, Query(alias="_since", description="Only what changed since (ISO 8601 with zone).")
]
FormatParam = Annotated[
    str, Query(alias="_outputFormat", description="application/fhir+ndjson (the only one).")
]
DeidentifyParam = Annotated[
    bool,
    Query(
        description="Research use: pseudonymous ids, dates shifted per patient, no names, MRNs or free text."
    ),
]
PreferHeader = Annotated[str | None, Header(description="Must include respond-async.")]


class ExportAsk:
    """What a kick-off asks for (the same at every level)."""

    def __init__(
        self,
        types: TypeParam = None,
        since: SinceParam = None,
        output_format: FormatParam = NDJSON,
        deidentify: DeidentifyParam = False,
        prefer: PreferHeader = None,
    ) -> None:
        if "respond-async" not in (prefer or ""):
            raise InvalidRequestError("a Bulk Data kick-off needs the header Prefer: respond-async")
        if output_format not in OUTPUT_FORMATS:
            raise InvalidRequestError(f"_outputFormat {output_format!r}: only {NDJSON}")
        if since is not None and since.tzinfo is None:
            raise InvalidRequestError("_since needs a time zone, e.g. 2026-12-01T00:00:00Z")
        self.types, self.since, self.deidentify = export_types(types or []), since, deidentify


AskDep = Annotated[ExportAsk, Depends()]


async def _kick_off(
    request: Request, session: SessionDep, admin: AdminDep, ask: ExportAsk, *, team_id: UUID | None
) -> FhirResponse:
    export = await bulk_repository.create(
        session=session,
        site_id=admin.site_id,
        requested_by=admin.user_id,
        care_team_id=team_id,
        types=ask.types,
        since=ask.since,
        deidentify=ask.deidentify,
        request_url=str(request.url),
    )
    status = f"{fhir_base(request)}/$export-status/{export.id}"
    return information_response(
        202, "Export accepted: poll the Content-Location URL.", headers={"Content-Location": status}
    )


@router.get("/$export", status_code=202, summary="Export everything of your site", responses=_KICK_OFF)
async def export_site(request: Request, session: SessionDep, admin: AdminDep, ask: AskDep) -> FhirResponse:
    return await _kick_off(request, session, admin, ask, team_id=None)


@router.get(
    "/Patient/$export", status_code=202, summary="Export every patient of your site", responses=_KICK_OFF
)
async def export_patients(
    request: Request, session: SessionDep, admin: AdminDep, ask: AskDep
) -> FhirResponse:
    return await _kick_off(request, session, admin, ask, team_id=None)


@router.get(
    "/Group/{team_id}/$export", status_code=202, summary="Export a care team's patients", responses=_KICK_OFF
)
async def export_group(
    request: Request, session: SessionDep, admin: AdminDep, team_id: UUID, ask: AskDep
) -> FhirResponse:
    team = await access.get_team(session=session, team_id=team_id)
    if team is None or team.site_id != admin.site_id:
        raise NotFoundError(f"Group/{team_id} (a care team) does not exist or is not your site's")
    return await _kick_off(request, session, admin, ask, team_id=team_id)


@router.get(
    "/$export-status/{export_id}",
    summary="An export's status: 202 while it runs, the manifest when it is done",
    response_model=BulkManifest,
    responses={
        **FHIR_ERRORS,
        200: {
            "description": "The manifest.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        202: {"model": OperationOutcome, "content": _OUTCOME, "description": "Still running (X-Progress)."},
        500: {"model": OperationOutcome, "content": _OUTCOME, "description": "The export failed."},
    },
)
async def export_status(
    request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep, export_id: UUID
) -> Any:
    export = await bulk_repository.of_site(session=session, site_id=admin.site_id, export_id=export_id)
    match export.status:
        case "accepted" | "running":
            progress = export.progress or ("waiting to start" if export.status == "accepted" else "started")
            return information_response(202, progress, headers={"X-Progress": progress, "Retry-After": "2"})
        case "failed":
            return outcome_response(500, f"the export failed: {export.error}")
    assert export.transaction_time is not None
    body = manifest(
        transaction_time=export.transaction_time,
        request=export.request_url,
        files=export.output or [],
        file_url=f"{fhir_base(request)}/$export-file/{export.id}",
    )
    assert export.finished_at is not None
    expires = export.finished_at + timedelta(hours=settings.api.export_keep_h)
    headers = {"Expires": format_datetime(expires.astimezone(UTC), usegmt=True)}  # when the files go
    return FhirResponse(body, media_type="application/json", headers=headers)


@router.delete(
    "/$export-status/{export_id}",
    status_code=202,
    summary="Cancel an export, or delete a finished one's files",
    responses={
        **FHIR_ERRORS,
        202: {"model": OperationOutcome, "content": _OUTCOME, "description": "Cancelled."},
    },
)
async def cancel_export(
    session: SessionDep, settings: SettingsDep, admin: AdminDep, export_id: UUID
) -> FhirResponse:
    await bulk_repository.of_site(session=session, site_id=admin.site_id, export_id=export_id)
    await bulk_repository.set_state(session=session, export_id=export_id, status="cancelled")
    await remove(settings.api.export_dir, export_id)
    return information_response(202, "Cancelled; its files are deleted.")


@router.get(
    "/$export-file/{export_id}/{name}",
    summary="One NDJSON file of a finished export",
    responses={
        **FHIR_ERRORS,
        200: {"description": "NDJSON, one resource per line.", "content": {NDJSON: {}}},
    },
)
async def export_file(
    session: SessionDep, settings: SettingsDep, admin: AdminDep, export_id: UUID, name: str
) -> FileResponse:
    export = await bulk_repository.of_site(session=session, site_id=admin.site_id, export_id=export_id)
    names = {f["name"] for f in export.output or []}
    if export.status != "completed" or name not in names:
        raise NotFoundError(f"export {export_id} has no file {name!r}")
    return FileResponse(folder(settings.api.export_dir, export_id) / name, media_type=NDJSON)
