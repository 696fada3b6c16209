"""Writes one audit entry per authenticated API request, after the response is known.

It runs outside the request's own transaction, so a refused or failed request
is recorded as well as a successful one. Routes and dependencies say more
through ``note_patients`` (the patients a list answer returned) and
``note_access_event`` (a failed sign-in, a lock-out, a refused token: there is no
signed-in user then).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from uuid import UUID

from fastapi import FastAPI, Request, Response
from starlette.requests import HTTPConnection

from monitoring.access.audit import (
    REFUSALS,
    AccessEvent,
    AccessEventBudget,
    access_entry,
    device_entry,
    entry,
)
from monitoring.access.principal import Principal
from monitoring.observability import metrics
from monitoring.storage.db import Database


def note_patients(request: Request, patient_ids: Iterable[UUID], **detail: Any) -> None:
    """Record which patients this list or search answer returned (and e.g. its query and count)."""
    request.state.audit_patients = list(patient_ids)
    if detail:
        request.state.audit_detail = detail


def note_device(request: Request, serial: str, patient_id: UUID) -> None:
    """The request was made with device ``serial``'s own credentials, about its patient."""
    request.state.audit_device = (serial, patient_id)


def note_access_event(connection: HTTPConnection, event: AccessEvent) -> None:
    connection.state.audit_access_event = event


def client_of(connection: HTTPConnection) -> str | None:
    return connection.client.host if connection.client else None


def _patient_of(request: Request) -> UUID | None:
    marked = getattr(request.state, "audit_patient", None)
    if isinstance(marked, UUID):
        return marked
    raw = request.path_params.get("patient_id") or request.query_params.get("patient_id")
    try:
        return UUID(str(raw)) if raw else None
    except ValueError:
        return None


async def record_access_event(
    database: Database,
    budget: AccessEventBudget,
    *,
    event: AccessEvent,
    method: str,
    path: str,
    client: str | None,
    status: int,
) -> None:
    """Write the event unless this client has had too many of its kind this minute (then count it)."""
    if event.action in REFUSALS:
        metrics.AUTH_REFUSALS.labels(event.action.value).inc()
    suppressed = budget.take(client or "?", event.action)
    if suppressed is None:
        return
    row = access_entry(
        event=event, method=method, path=path, client=client, status=status, suppressed=suppressed
    )
    async with database.unit_of_work() as session:
        session.add(row)


def install_audit(app: FastAPI, database: Database) -> None:
    budget: AccessEventBudget = app.state.access_event_budget

    @app.middleware("http")
    async def audit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        principal = getattr(request.state, "principal", None)
        if isinstance(principal, Principal):
            row = entry(
                principal=principal,
                method=request.method,
                path=request.url.path,
                patient_id=_patient_of(request),
                patient_ids=getattr(request.state, "audit_patients", None),
                detail=getattr(request.state, "audit_detail", None),
                client=client_of(request),
                status=response.status_code,
            )
            async with database.unit_of_work() as session:
                session.add(row)
            return response
        device = getattr(request.state, "audit_device", None)
        if device is not None:
            async with database.unit_of_work() as session:
                session.add(
                    device_entry(
                        serial=device[0],
                        patient_id=device[1],
                        method=request.method,
                        path=request.url.path,
                        client=client_of(request),
                        status=response.status_code,
                    )
                )
            return response
        event = getattr(request.state, "audit_access_event", None)
        if isinstance(event, AccessEvent):
            await record_access_event(
                database,
                budget,
                event=event,
                method=request.method,
                path=request.url.path,
                client=client_of(request),
                status=response.status_code,
            )
        return response
