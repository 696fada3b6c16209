"""Errors as FHIR clients read them: an OperationOutcome with an issue code for the status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-costly",
    422: "processing",
    429: "throttled",
}


def operation_outcome(status: int, message: str, *, where: Sequence[str] = ()) -> dict[str, Any]:
    """One issue saying what went wrong (``where``: the parameters at fault, as FHIRPath-ish names)."""
    issue: dict[str, Any] = {
        "severity": "error" if status < 500 else "fatal",
        "code": _ISSUE_CODES.get(status, "exception"),
        "diagnostics": message,
    }
    if where:
        issue["expression"] = list(where)
    return {"resourceType": "OperationOutcome", "issue": [issue]}
