"""Building FHIR R4 resources (as JSON dicts) from stored readings and alerts.

Vital signs follow the R4 vital-signs profile: status, category ``vital-signs``,
a LOINC code, subject, effectiveDateTime and a UCUM ``valueQuantity``; blood
pressure is one panel (85354-9) with systolic (8480-6) and diastolic (8462-4)
components. SpO2 carries 2708-6, which the oxygen-saturation profile requires,
beside the pulse-oximetry code 59408-5. Glucose is a laboratory observation and
steps an activity one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from devices.kinds import DeviceKind
from monitoring.catalogue import Series
from monitoring.domain import ACTIVE_ALERT_STATUSES, AlertStatus, DeviceState, PatientState
from monitoring.storage.models import Alert, Device, Patient

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
VITAL_SIGNS = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
BP_PANEL = "85354-9"
SPO2_PROFILE_CODE = "2708-6"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_CATEGORY = {
    Series.GLUCOSE_CGM: ("laboratory", "Laboratory"),
    Series.GLUCOSE_METER: ("laboratory", "Laboratory"),
    Series.STEPS: ("activity", "Activity"),
}
VITAL_SERIES = tuple(s for s in Series if s not in _CATEGORY and s is not Series.SKIN_TEMPERATURE)


def _category(series: Series) -> dict[str, Any]:
    code, display = _CATEGORY.get(series, ("vital-signs", "Vital Signs"))
    return {"coding": [{"system": CATEGORY_SYSTEM, "code": code, "display": display}], "text": display}


def _quantity(value: float, series: Series) -> dict[str, Any]:
    unit = series.info.unit
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _code(series: Series) -> dict[str, Any]:
    info = series.info
    coding = [{"system": LOINC, "code": info.loinc, "display": info.label}]
    if series is Series.SPO2:
        coding.append({"system": LOINC, "code": SPO2_PROFILE_CODE, "display": "Oxygen saturation"})
    return {"coding": coding, "text": info.label}


def observation_id(series: Series | str, device_id: UUID, at: datetime) -> str:
    """Stable: the reading's identity (series, device, time to the microsecond), within FHIR's
    64-character id limit."""
    name = series if isinstance(series, str) else str(int(series))
    return f"{name}-{device_id.hex}-{(at - EPOCH) // timedelta(microseconds=1)}"


def parse_observation_id(resource_id: str) -> tuple[Series, bool, UUID, datetime] | None:
    """(series, whether it is the blood-pressure panel, device, time) of an id made by
    ``observation_id``; None for anything else."""
    try:
        name, device, micros = resource_id.split("-")
        panel = name == "bp"
        series = Series.BP_SYSTOLIC if panel else Series(int(name))
        return series, panel, UUID(hex=device), EPOCH + timedelta(microseconds=int(micros))
    except (ValueError, OverflowError):
        return None


def _base(
    resource_id: str, patient_id: UUID, device_id: UUID, at: datetime, series: Series
) -> dict[str, Any]:
    vital = series in VITAL_SERIES
    return {
        "resourceType": "Observation",
        "id": resource_id,
        **({"meta": {"profile": [VITAL_SIGNS]}} if vital else {}),
        "status": "final",
        "category": [_category(series)],
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": at.isoformat(),
        "device": {"reference": f"Device/{device_id}"},
    }


def observation(
    patient_id: UUID, device_id: UUID, series: Series, at: datetime, value: float
) -> dict[str, Any]:
    resource = _base(observation_id(series, device_id, at), patient_id, device_id, at, series)
    resource["code"] = _code(series)
    resource["valueQuantity"] = _quantity(value, series)
    return resource


def blood_pressure(
    patient_id: UUID, device_id: UUID, at: datetime, systolic: float, diastolic: float
) -> dict[str, Any]:
    resource = _base(observation_id("bp", device_id, at), patient_id, device_id, at, Series.BP_SYSTOLIC)
    resource["code"] = {
        "coding": [{"system": LOINC, "code": BP_PANEL, "display": "Blood pressure panel"}],
        "text": "Blood pressure",
    }
    resource["component"] = [
        {"code": _code(Series.BP_SYSTOLIC), "valueQuantity": _quantity(systolic, Series.BP_SYSTOLIC)},
        {"code": _code(Series.BP_DIASTOLIC), "valueQuantity": _quantity(diastolic, Series.BP_DIASTOLIC)},
    ]
    return resource


def flag(alert: Alert) -> dict[str, Any]:
    """An alert as a Flag: active while open or acknowledged, with its period and explanation."""
    active = AlertStatus(alert.status) in ACTIVE_ALERT_STATUSES
    period: dict[str, str] = {"start": alert.opened_at.isoformat()}
    if alert.resolved_at is not None:
        period["end"] = alert.resolved_at.isoformat()
    return {
        "resourceType": "Flag",
        "id": str(alert.id),
        "status": "active" if active else "inactive",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                        "code": "clinical",
                        "display": "Clinical",
                    }
                ]
            }
        ],
        "code": {"text": f"{alert.alert_type} ({alert.severity}): {alert.summary}"},
        "subject": {"reference": f"Patient/{alert.patient_id}"},
        "period": period,
    }


def bundle(
    entries: list[dict[str, Any]],
    *,
    base: str,
    links: list[dict[str, str]],
    total: int | None = None,
) -> dict[str, Any]:
    """A searchset; ``base`` is the server's FHIR base URL, which makes each fullUrl absolute."""
    result: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in entries
        ],
    }
    if total is not None:
        result["total"] = total
    if not result["entry"]:
        del result["entry"]  # FHIR has no empty arrays
    return result


DEVICE_SERIAL = "urn:rpm:device-serial"
DEVICE_KIND = "urn:rpm:device-kind"


def mrn_system(site_code: str) -> str:
    """Where an MRN is unique: its site (the same MRN at two hospitals is two patients)."""
    return f"urn:rpm:site:{site_code}:mrn"


def patient(record: Patient, site_code: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(record.id),
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": mrn_system(site_code),
                "value": record.mrn,
            }
        ],
        "active": record.status == PatientState.ACTIVE.value,
        "name": [{"text": record.display_name}],
    }
    if record.birth_date is not None:
        resource["birthDate"] = record.birth_date.isoformat()
    return resource


def device(record: Device) -> dict[str, Any]:
    kind = DeviceKind(record.kind)
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "id": str(record.id),
        "identifier": [{"system": DEVICE_SERIAL, "value": record.serial}],
        "status": "active" if record.status == DeviceState.ACTIVE.value else "inactive",
        "deviceName": [{"name": f"{kind.label} {record.serial}", "type": "user-friendly-name"}],
        "type": {
            "coding": [{"system": DEVICE_KIND, "code": kind.value, "display": kind.label}],
            "text": kind.label,
        },
    }
    if record.firmware:
        resource["version"] = [{"value": record.firmware}]
    if record.patient_id is not None:
        resource["patient"] = {"reference": f"Patient/{record.patient_id}"}
    return resource
