"""What every answer on a Nightscout uploader address shares: where those addresses are, and errors
in Nightscout's own shape (``{"status", "message", "description"}``), which its clients show."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection

PREFIX = "/ns"


def is_nightscout(connection: HTTPConnection) -> bool:
    return connection.url.path.startswith(PREFIX + "/")


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {"status": status, "message": phrase, "description": message}
    return JSONResponse(status_code=status, content=body, headers=headers)
