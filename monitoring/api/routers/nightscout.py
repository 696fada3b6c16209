"""Nightscout's REST API (v1) at ``/ns/<device serial>/api/v1``, for CGM uploaders.

Set an app's Nightscout URL to ``https://<host>/ns/<serial>/`` and its API secret to the one
shown when the uploader was registered. Entries go to the broker as the device (see
``monitoring.nightscout.gateway``); reads answer from the patient's stored glucose.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request

from monitoring.access.audit import AccessEvent, Action
from monitoring.access.throttle import LoginThrottle
from monitoring.api.auditing import client_of, note_access_event, note_device
from monitoring.api.deps import SessionDep
from monitoring.api.nightscout_http import PREFIX
from monitoring.api.schemas.nightscout import AuthCheck, Deleted, NightscoutError, ServerStatus
from monitoring.errors import NotFoundError, TooManyRequestsError, UnauthorizedError
from monitoring.nightscout import credentials, service
from monitoring.nightscout.gateway import ReadingsGateway
from monitoring.nightscout.query import ReadQuery, read_query
from monitoring.nightscout.service import Uploader
from monitoring.nightscout.status import server_status

router = APIRouter(prefix=PREFIX + "/{serial}/api/v1", tags=["nightscout"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": NightscoutError, "description": description}
    for status, description in (
        (400, "An entry or a query the server cannot read; `description` says which and why."),
        (401, "No API secret or token, or not this uploader's."),
        (403, "The device is retired or not assigned to a patient."),
        (404, "Nothing of that name here."),
        (503, "The message broker is not reachable: send again (Retry-After)."),
    )
}
Serial = Annotated[str, Path(min_length=3, max_length=64, description="The CGM device's serial.")]
Documents = Annotated[Any, Body(description="One document or an array of them.")]


async def current_uploader(
    request: Request,
    session: SessionDep,
    serial: Serial,
    api_secret: Annotated[
        str | None,
        Header(alias="api-secret", description="SHA-1 hex of the API secret, or `token=<token>`."),
    ] = None,
    token: Annotated[str | None, Query(max_length=200, description="The uploader's access token.")] = None,
) -> Uploader:
    throttle: LoginThrottle = request.app.state.login_throttle
    keys = (f"nightscout:{serial}:{client_of(request) or '?'}",)
    wait = throttle.retry_after(keys)
    if wait is not None:
        raise TooManyRequestsError(f"too many refused secrets for this uploader; try again in {wait} s", wait)
    secret, presented_token = credentials.presented(header=api_secret, query_token=token)
    try:
        uploader = await service.authenticate(
            session=session, serial=serial, api_secret=secret, token=presented_token
        )
    except UnauthorizedError as error:
        throttle.failed(keys)
        note_access_event(request, AccessEvent(Action.TOKEN_REFUSED, error.message, f"device:{serial}"))
        raise
    note_device(request, uploader.serial, uploader.patient_id)
    return uploader


UploaderDep = Annotated[Uploader, Depends(current_uploader)]


def _gateway(request: Request) -> ReadingsGateway | None:
    gateway: ReadingsGateway | None = request.app.state.gateway
    return gateway


def _query(request: Request, default_count: int = 10) -> ReadQuery:
    return read_query(request.query_params.multi_items(), default_count=default_count)


@router.get("/status.json", summary="Server status, as Nightscout clients read it", responses=_ERRORS)
@router.get("/status", include_in_schema=False)
async def status(uploader: UploaderDep) -> ServerStatus:
    return ServerStatus.model_validate(server_status(datetime.now(UTC)))


@router.get("/verifyauth", summary="Whether the secret or token is accepted", responses=_ERRORS)
async def verify_auth(uploader: UploaderDep) -> AuthCheck:
    return AuthCheck.model_validate(
        {
            "status": 200,
            "message": {
                "message": "OK",
                "rolefound": "FOUND",
                "isAdmin": False,
                "canRead": True,
                "canWrite": True,
            },
        }
    )


@router.post("/entries.json", summary="Upload sgv and mbg entries (an object or an array)", responses=_ERRORS)
@router.post("/entries", include_in_schema=False)
async def post_entries(
    request: Request, session: SessionDep, uploader: UploaderDep, body: Documents
) -> list[dict[str, Any]]:
    return await service.upload_entries(
        session=session, gateway=_gateway(request), uploader=uploader, body=body
    )


@router.get(
    "/entries.json", summary="Glucose entries, newest first (`count`, `find[...]`)", responses=_ERRORS
)
@router.get("/entries", include_in_schema=False)
async def get_entries(request: Request, session: SessionDep, uploader: UploaderDep) -> list[dict[str, Any]]:
    return await service.read_entries(session=session, uploader=uploader, query=_query(request), kind=None)


_SPECS = {"sgv": ("sgv", None), "mbg": ("mbg", None), "current": ("sgv", 1)}


@router.get(
    "/entries/{spec}", summary="Entries of one type (sgv, mbg) or the latest (current)", responses=_ERRORS
)
async def get_entries_of(
    request: Request, session: SessionDep, uploader: UploaderDep, spec: Annotated[str, Path(max_length=20)]
) -> list[dict[str, Any]]:
    kind, count = _SPECS.get(spec.removesuffix(".json"), (None, None))
    if kind is None:
        raise NotFoundError(f"entries/{spec} is not served: sgv.json, mbg.json or current.json")
    query = _query(request)
    if count is not None:
        query = ReadQuery(count, query.window)
    return await service.read_entries(session=session, uploader=uploader, query=query, kind=kind)


def _storer(collection: str, *, replace: bool) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    async def store(session: SessionDep, uploader: UploaderDep, body: Documents) -> list[dict[str, Any]]:
        return await service.store_documents(
            session=session, uploader=uploader, collection=collection, body=body, replace=replace
        )

    return store


def _document_routes(collection: str, noun: str) -> None:
    for add, replace, summary in (
        (router.post, False, f"Upload {noun} (kept as sent; the same one again is kept once)"),
        (router.put, True, f"Upload or replace {noun} by _id"),
    ):
        store = _storer(collection, replace=replace)
        name = f"{'put' if replace else 'post'}_{collection}"
        add(f"/{collection}.json", summary=summary, responses=_ERRORS, name=name)(store)
        add(f"/{collection}", include_in_schema=False, name=f"{name}_bare")(store)

    @router.get(
        f"/{collection}.json",
        summary=f"{noun.capitalize()}, newest first",
        responses=_ERRORS,
        name=f"get_{collection}",
    )
    @router.get(f"/{collection}", include_in_schema=False)
    async def get(request: Request, session: SessionDep, uploader: UploaderDep) -> list[dict[str, Any]]:
        return await service.read_documents(
            session=session, uploader=uploader, collection=collection, query=_query(request)
        )

    @router.delete(
        f"/{collection}/{{document_id}}",
        summary=f"Delete one of the {noun}",
        responses=_ERRORS,
        name=f"delete_{collection}",
    )
    async def remove(
        session: SessionDep, uploader: UploaderDep, document_id: Annotated[str, Path(max_length=64)]
    ) -> Deleted:
        if not await service.delete_document(
            session=session, uploader=uploader, collection=collection, key=document_id.lower()
        ):
            raise NotFoundError(f"no {collection} document {document_id}")
        return Deleted(n=1, ok=1)


_document_routes("treatments", "treatments")
_document_routes("devicestatus", "device statuses")
