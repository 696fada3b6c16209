"""FHIR Bulk Data export (the async pattern): what a kick-off may ask for, the manifest, and the
de-identified form for research (pseudonymous ids, dates shifted per patient, no names, MRNs,
birth dates, serials or free text).

>>> d = Deidentifier(b"k" * 32)
>>> d.pseudonym("Patient", "a") == d.pseudonym("Patient", "a") != d.pseudonym("Patient", "b")
True
>>> 1 <= abs(d.shift("a").days) <= MAX_SHIFT_DAYS
True
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from monitoring.errors import InvalidRequestError

EXPORT_TYPES = ("Patient", "Device", "Observation", "Flag")
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = (NDJSON, "application/ndjson", "ndjson")
MAX_SHIFT_DAYS = 30


def export_types(values: Sequence[str]) -> list[str]:
    """``_type`` (commas mean several; none: every type); an unknown type is a 400 naming it."""
    wanted = [t.strip() for value in values for t in value.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in EXPORT_TYPES]
    if unknown:
        raise InvalidRequestError(
            f"_type {', '.join(unknown)}: this server exports {', '.join(EXPORT_TYPES)}"
        )
    return [t for t in EXPORT_TYPES if t in wanted] if wanted else list(EXPORT_TYPES)


def manifest(
    *, transaction_time: datetime, request: str, files: Sequence[dict[str, Any]], file_url: str
) -> dict[str, Any]:
    """The completed export's manifest; each file is fetched with the same bearer token."""
    return {
        "transactionTime": transaction_time.isoformat(),
        "request": request,
        "requiresAccessToken": True,
        "output": [{"type": f["type"], "url": f"{file_url}/{f['name']}", "count": f["count"]} for f in files],
        "error": [],
    }


class Deidentifier:
    """Pseudonymises one export: the same real id gives the same pseudonym within it (so
    references still join) and none across exports (each has its own key); each patient's
    times move by the same whole number of days (1 to 30, either way), so intervals stay true."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _digest(self, text: str) -> bytes:
        return hmac.new(self.key, text.encode(), hashlib.sha256).digest()

    def pseudonym(self, kind: str, real: str) -> str:
        return self._digest(f"{kind}/{real}").hex()[:32]

    def shift(self, patient_id: str) -> timedelta:
        n = int.from_bytes(self._digest(f"shift/{patient_id}")[:4], "big")
        days = n % MAX_SHIFT_DAYS + 1
        return timedelta(days=days if n & (1 << 31) else -days)

    def _time(self, value: str, patient_id: str) -> str:
        return (datetime.fromisoformat(value) + self.shift(patient_id)).isoformat()

    def _reference(self, reference: str) -> str:
        kind, _, real = reference.partition("/")
        return f"{kind}/{self.pseudonym(kind, real)}"

    def patient(self, resource: dict[str, Any]) -> dict[str, Any]:
        return {
            "resourceType": "Patient",
            "id": self.pseudonym("Patient", resource["id"]),
            "meta": {"security": [_REDACTED]},
            "active": resource.get("active", True),
        }

    def device(self, resource: dict[str, Any]) -> dict[str, Any]:
        found = {
            "resourceType": "Device",
            "id": self.pseudonym("Device", resource["id"]),
            "meta": {"security": [_REDACTED]},
            "status": resource["status"],
            "type": resource["type"],
        }
        if "patient" in resource:
            found["patient"] = {"reference": self._reference(resource["patient"]["reference"])}
        return found

    def observation(self, resource: dict[str, Any]) -> dict[str, Any]:
        patient = resource["subject"]["reference"].partition("/")[2]
        found = {
            **resource,
            "id": self.pseudonym("Observation", resource["id"]),
            "meta": {**resource.get("meta", {}), "security": [_REDACTED]},
            "subject": {"reference": self._reference(resource["subject"]["reference"])},
            "device": {"reference": self._reference(resource["device"]["reference"])},
            "effectiveDateTime": self._time(resource["effectiveDateTime"], patient),
        }
        return found

    def flag(self, resource: dict[str, Any], alert_type: str, severity: str) -> dict[str, Any]:
        """The alert's kind and severity only: its explanation quotes times and values."""
        patient = resource["subject"]["reference"].partition("/")[2]
        period = {k: self._time(v, patient) for k, v in resource["period"].items()}
        return {
            **resource,
            "id": self.pseudonym("Flag", resource["id"]),
            "meta": {"security": [_REDACTED]},
            "code": {"text": f"{alert_type} ({severity})"},
            "subject": {"reference": self._reference(resource["subject"]["reference"])},
            "period": period,
        }


_REDACTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}
