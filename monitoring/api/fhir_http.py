"""What every FHIR answer shares: the media type, the server's FHIR base URL as the client
reached it, and errors as OperationOutcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from monitoring.api.schemas.fhir import OperationOutcome
from monitoring.fhir.outcome import operation_outcome

FHIR_JSON = "application/fhir+json"
METADATA_ROUTE = "fhir_metadata"
_OUTCOME = {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}
# How FHIR routes refuse: an OperationOutcome (the model registers its schema for the $ref).
FHIR_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OperationOutcome,
        "content": _OUTCOME,
        "description": "A parameter the server does not accept.",
    },
    401: {
        "model": OperationOutcome,
        "content": _OUTCOME,
        "description": "Not signed in, or the token is not valid.",
    },
    404: {
        "model": OperationOutcome,
        "content": _OUTCOME,
        "description": "Nothing of that id within your reach.",
    },
}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def fhir_base(request: Request) -> str:
    """The absolute FHIR base (``.../api/v1/fhir``) as this client addressed the server (behind a
    trusted proxy: as the proxy says)."""
    return str(request.url_for(METADATA_ROUTE)).removesuffix("/metadata")


def is_fhir(request: Request) -> bool:
    path = request.url.path
    return "/fhir/" in path or path.endswith("/fhir")


def outcome_response(
    status: int,
    message: str,
    *,
    where: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
) -> FhirResponse:
    return FhirResponse(
        status_code=status, content=operation_outcome(status, message, where=where), headers=headers
    )


def information_response(
    status: int, message: str, *, headers: Mapping[str, str] | None = None
) -> FhirResponse:
    """An OperationOutcome that reports, not refuses (a 202 of an asynchronous request)."""
    issue = {"severity": "information", "code": "informational", "diagnostics": message}
    return FhirResponse(
        status_code=status, content={"resourceType": "OperationOutcome", "issue": [issue]}, headers=headers
    )
