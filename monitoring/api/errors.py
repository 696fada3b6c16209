"""One mapping from domain errors to HTTP responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitoring.errors import DomainError, TooManyRequestsError


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    headers = {"Retry-After": str(error.retry_after_s)} if isinstance(error, TooManyRequestsError) else None
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
    return JSONResponse(
        status_code=error.status_code,
        content={"error": {"code": code, "message": str(error.detail)}},
        headers=error.headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
