"""FHIR R4 export: validated with fhir.resources (R4B models) and checked against the vital-signs
profile's required elements by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation

from devices.contract import Reading
from monitoring.domain import Condition
from monitoring.registry.service import register_device
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.factories import enrol, heart_rates, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration
VITAL_SIGNS = {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}


def _resources(body: dict[str, Any]) -> list[dict[str, Any]]:
    Bundle.model_validate(body)
    found = [entry["resource"] for entry in body["entry"]]
    for resource in found:
        (Observation if resource["resourceType"] == "Observation" else Flag).model_validate(resource)
    return found


def _assert_vital_sign(resource: dict[str, Any], patient: str) -> None:
    """The R4 vital-signs profile's required elements."""
    assert resource["status"] == "final"
    codings = [c for category in resource["category"] for c in category["coding"]]
    assert any(c["system"] == VITAL_SIGNS["system"] and c["code"] == VITAL_SIGNS["code"] for c in codings)
    assert resource["code"]["coding"][0]["system"] == "http://loinc.org"
    assert resource["subject"] == {"reference": f"Patient/{patient}"}
    assert datetime.fromisoformat(resource["effectiveDateTime"]).tzinfo is not None
    quantities = (
        [resource["valueQuantity"]]
        if "valueQuantity" in resource
        else [component["valueQuantity"] for component in resource["component"]]
    )
    for quantity in quantities:
        assert quantity["system"] == "http://unitsofmeasure.org"
        assert isinstance(quantity["value"], float | int)
        assert quantity["code"]


async def test_observations_flags_and_lastn_are_valid_fhir(database: Database) -> None:
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE])
    async with database.unit_of_work() as session:
        cuff = await register_device(
            session=session, serial=f"{patient.serial}-cuff", kind="bp_cuff", patient_id=patient.patient_id
        )
    t0 = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    pressure = Reading(metric="blood_pressure", unit="mm[Hg]", at=t0, systolic=142, diastolic=88)
    await make_pipeline(database).process(
        [
            inbound(
                patient.serial,
                readings_payload(patient.serial, 1, heart_rates([38, 36, 35, 37, 36], start=t0)),
            ),
            inbound(cuff.serial, readings_payload(cuff.serial, 1, [pressure])),
        ],
        Acks(),
    )
    who = str(patient.patient_id)
    async with api_client(database) as client:
        heart = await client.get(
            "/api/v1/fhir/Observation", params={"patient": who, "code": "http://loinc.org|8867-4"}
        )
        panel = (
            await client.get("/api/v1/fhir/Observation", params={"patient": who, "code": "85354-9"})
        ).json()
        window = {
            "patient": who,
            "code": "8867-4",
            "date": [
                f"ge{(t0 + timedelta(minutes=1)).isoformat()}",
                f"lt{(t0 + timedelta(minutes=3)).isoformat()}",
            ],
        }
        narrowed = (await client.get("/api/v1/fhir/Observation", params=window)).json()
        everything = (await client.get("/api/v1/fhir/Observation", params={"patient": who})).json()
        last = (await client.get("/api/v1/fhir/Observation/$lastn", params={"patient": who, "max": 1})).json()
        flags = (await client.get("/api/v1/fhir/Flag", params={"patient": who})).json()
        bad_date = await client.get("/api/v1/fhir/Observation", params={"patient": who, "date": "2026-01-01"})
    assert heart.headers["content-type"].startswith("application/fhir+json")
    rates = _resources(heart.json())
    assert [r["valueQuantity"]["value"] for r in rates] == [36, 37, 35, 36, 38]  # newest first
    for resource in rates:
        _assert_vital_sign(resource, who)
        assert resource["valueQuantity"]["code"] == "/min"
    (bp,) = _resources(panel)
    _assert_vital_sign(bp, who)
    assert bp["code"]["coding"][0]["code"] == "85354-9"
    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in bp["component"]}
    assert components == {"8480-6": 142, "8462-4": 88}
    assert [r["valueQuantity"]["value"] for r in _resources(narrowed)] == [35, 36]  # minutes 2 and 1
    assert len(_resources(everything)) == 6  # five heart rates and one blood-pressure panel
    assert {r["code"]["coding"][0]["code"] for r in _resources(last)} == {"8867-4", "85354-9"}
    (flag,) = _resources(flags)
    assert (flag["status"], flag["subject"]["reference"]) == ("active", f"Patient/{who}")
    assert "threshold.heart_rate.low" in flag["code"]["text"]
    assert bad_date.status_code == 400
