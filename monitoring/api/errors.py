"""One mapping from domain errors to HTTP responses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitoring.api import nightscout_http
from monitoring.api.fhir_http import is_fhir, outcome_response
from monitoring.api.schemas.common import ErrorBody
from monitoring.errors import DomainError

# Every route documents its 422 as the same body as every other error.
VALIDATION_RESPONSE: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "The request is malformed: error.fields says where and why."}
}


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s is not None else None
    if nightscout_http.is_nightscout(request):
        return nightscout_http.error_response(error.status_code, error.message, headers)
    if is_fhir(request):
        return outcome_response(error.status_code, error.message, headers=headers)
    return JSONResponse(
        status_code=error.status_code,
        content={"error": {"code": error.code, "message": error.message}},
        headers=headers,
    )


# Codes for the framework's own refusals (unknown route, wrong method, unparsable body).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    """The framework's refusals in the same shape as ours: ``{"error": {"code", "message"}}``."""
    assert isinstance(error, StarletteHTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    if nightscout_http.is_nightscout(request):
        return nightscout_http.error_response(error.status_code, str(error.detail), error.headers)
    if is_fhir(request):
        return outcome_response(error.status_code, str(error.detail), headers=error.headers)
    return JSONResponse(
        status_code=error.status_code,
        content={"error": {"code": code, "message": str(error.detail)}},
        headers=error.headers,
    )


def _field(error: dict[str, Any]) -> dict[str, str]:
    location = ".".join(str(part) for part in error.get("loc", ()))
    return {"location": location or "request", "message": str(error.get("msg", "is not valid"))}


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    """A malformed request: 422 in the one error shape, naming each field that is wrong."""
    assert isinstance(error, RequestValidationError)
    fields = [_field(e) for e in error.errors()][:50]
    first = fields[0] if fields else {"location": "request", "message": "is not valid"}
    message = f"{first['location']}: {first['message']}"
    if len(fields) > 1:
        message += f" (and {len(fields) - 1} more)"
    if nightscout_http.is_nightscout(request):
        return nightscout_http.error_response(400, message)
    if is_fhir(request):  # a search parameter FHIR's way: 400 naming it
        return outcome_response(400, message, where=[f["location"].rpartition(".")[2] for f in fields])
    return JSONResponse(
        status_code=422,
        content=jsonable_encoder(
            {"error": {"code": "validation_failed", "message": message, "fields": fields}}
        ),
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    """A fault of ours: 500 in the caller's error shape, nothing of the cause (the server logs it)."""
    message = "internal error: the server logged it; try again, and tell its operators if it persists"
    if nightscout_http.is_nightscout(request):
        return nightscout_http.error_response(500, message)
    if is_fhir(request):
        return outcome_response(500, message)
    return JSONResponse(status_code=500, content={"error": {"code": "internal_error", "message": message}})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
