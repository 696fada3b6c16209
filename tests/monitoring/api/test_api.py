from datetime import UTC, datetime, timedelta

import pytest

from monitoring.api.probes import ComponentStatus
from monitoring.domain import Condition
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.factories import enrol, heart_rates, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


async def test_patients_are_listed_with_care_plan_and_devices(database: Database) -> None:
    first = await enrol(database, conditions=[Condition.COPD])
    await enrol(database)
    async with api_client(database) as client:
        listing = (await client.get("/api/v1/patients", params={"limit": 1})).json()
        detail = (await client.get(f"/api/v1/patients/{first.patient_id}")).json()
    assert (listing["total"], len(listing["items"]), listing["limit"]) == (2, 1, 1)
    spo2 = next(t for t in detail["care_plan"] if t["series"] == "spo2")
    assert (spo2["low"], spo2["unit"]) == (88, "%")
    assert [d["serial"] for d in detail["devices"]] == [first.serial]


async def test_readings_come_back_standardised_in_the_requested_range(database: Database) -> None:
    patient = await enrol(database)
    start = datetime.now(UTC) - timedelta(hours=1)
    await make_pipeline(database).process(
        [
            inbound(
                patient.serial,
                readings_payload(patient.serial, 1, heart_rates([70, 71, 72, 73], start=start)),
            )
        ],
        Acks(),
    )
    params: dict[str, str | int] = {
        "series": "heart_rate",
        "start": (start + timedelta(seconds=30)).isoformat(),
        "end": datetime.now(UTC).isoformat(),
        "limit": 2,
    }
    async with api_client(database) as client:
        body = (await client.get(f"/api/v1/patients/{patient.patient_id}/readings", params=params)).json()
    assert (body["loinc"], body["unit"]) == ("8867-4", "/min")
    assert [p["value"] for p in body["points"]] == [71, 72]
    assert body["truncated"] is True


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        (
            {"series": "heart_rate", "start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
            400,
            "invalid_request",
        ),
        (
            {"series": "heart_rate", "start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
            400,
            "invalid_request",
        ),
        ({"series": "cholesterol"}, 422, None),
    ],
)
async def test_bad_reading_queries_get_specific_errors(
    database: Database, params: dict[str, str], status: int, code: str | None
) -> None:
    patient = await enrol(database)
    async with api_client(database) as client:
        response = await client.get(f"/api/v1/patients/{patient.patient_id}/readings", params=params)
    assert response.status_code == status
    if code is not None:
        assert response.json()["error"]["code"] == code


async def test_unknown_patient_and_alert_are_404_with_a_reason(database: Database) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    async with api_client(database) as client:
        for path in (f"/api/v1/patients/{missing}", f"/api/v1/alerts/{missing}"):
            response = await client.get(path)
            assert response.status_code == 404
            assert missing in response.json()["error"]["message"]
        readings = await client.get(f"/api/v1/patients/{missing}/readings", params={"series": "spo2"})
        assert readings.status_code == 404


async def test_alerts_filter_by_status_patient_and_severity(database: Database) -> None:
    sick = await enrol(database, conditions=[Condition.HEART_FAILURE])
    well = await enrol(database)
    await make_pipeline(database).process(
        [
            inbound(sick.serial, readings_payload(sick.serial, 1, heart_rates([38, 36, 35, 37, 36]))),
            inbound(well.serial, readings_payload(well.serial, 1, heart_rates([70, 72, 71]))),
        ],
        Acks(),
    )
    async with api_client(database) as client:
        open_high = (await client.get("/api/v1/alerts", params={"status": "open", "severity": "high"})).json()
        of_well = (await client.get("/api/v1/alerts", params={"patient_id": str(well.patient_id)})).json()
        resolved = (await client.get("/api/v1/alerts", params={"status": "resolved"})).json()
        (alert,) = open_high["items"]
        detail = (await client.get(f"/api/v1/alerts/{alert['id']}")).json()
        bad = await client.get("/api/v1/alerts", params={"status": "nonsense"})
    assert alert["patient_id"] == str(sick.patient_id)
    assert "45 /min" in alert["summary"]
    assert (of_well["total"], resolved["total"]) == (0, 0)
    assert [e["kind"] for e in detail["events"]] == ["opened"]
    assert bad.status_code == 422


async def test_dead_letters_are_listed_with_their_reason(database: Database) -> None:
    ours = await enrol(database)
    await make_pipeline(database).process([inbound(ours.serial, b"{}"), inbound("ghost-001", b"{}")], Acks())
    async with api_client(database) as client:
        body = (await client.get("/api/v1/dead-letters", params={"code": "schema_invalid"})).json()
    # The site's admin sees its own device's letter; one that names no registered device is no site's.
    (letter,) = body["items"]
    assert (letter["device_serial"], letter["payload_excerpt"]) == (ours.serial, "{}")


async def test_health_and_readiness(database: Database) -> None:
    async def broker_down() -> ComponentStatus:
        return ComponentStatus(name="broker", ok=False, detail="not connected")

    async with api_client(database) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/ready")
        assert (ready.status_code, ready.json()["ready"]) == (200, True)
    async with api_client(database, probes=[broker_down]) as client:
        not_ready = await client.get("/ready")
    assert not_ready.status_code == 503
    assert not_ready.json()["components"][0]["detail"] == "not connected"


async def test_every_operation_documents_a_typed_response(database: Database) -> None:
    async with api_client(database) as client:
        spec = (await client.get("/openapi.json")).json()
    error = {"$ref": "#/components/schemas/ErrorBody"}
    outcome = {"$ref": "#/components/schemas/OperationOutcome"}
    ns_error = {"$ref": "#/components/schemas/NightscoutError"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = next(code for code in responses if code.startswith("2"))
            content = responses[success]["content"]
            if {"image/png", "application/pdf", "application/fhir+ndjson"} & set(content):
                continue  # a chart, the printable report or a bulk export's file
            ok = (content.get("application/json") or content["application/fhir+json"])["schema"]
            assert ok.get("$ref") or ok.get("type") not in (None, "object"), f"{method} {path}"
            if path == "/api/v1/fhir/metadata":
                continue  # read before signing in
            if path.startswith("/ns/"):  # uploader addresses refuse as Nightscout does
                assert responses["401"]["content"]["application/json"]["schema"] == ns_error, path
            elif path.startswith("/api/v1/fhir/"):  # FHIR refuses with an OperationOutcome
                assert responses["401"]["content"]["application/fhir+json"]["schema"] == outcome, path
            elif path.startswith("/api/"):  # every API operation says how it refuses a caller
                assert responses["401"]["content"]["application/json"]["schema"] == error, f"{method} {path}"
