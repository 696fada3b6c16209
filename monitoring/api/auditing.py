"""Writes one audit entry per authenticated API request, after the response is known.

It runs outside the request's own transaction, so a refused or failed request
is recorded as well as a successful one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from fastapi import FastAPI, Request, Response

from monitoring.access.audit import entry
from monitoring.access.principal import Principal
from monitoring.storage.db import Database


def _patient_of(request: Request) -> UUID | None:
    marked = getattr(request.state, "audit_patient", None)
    if isinstance(marked, UUID):
        return marked
    raw = request.path_params.get("patient_id") or request.query_params.get("patient_id")
    try:
        return UUID(str(raw)) if raw else None
    except ValueError:
        return None


def install_audit(app: FastAPI, database: Database) -> None:
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
                client=request.client.host if request.client else None,
                status=response.status_code,
            )
            async with database.unit_of_work() as session:
                session.add(row)
        return response
