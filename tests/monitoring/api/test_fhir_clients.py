"""The FHIR API as real clients use it: fhirpy pages through a search to the end, fhirclient reads
by id, every error is an OperationOutcome, and the CapabilityStatement says what exists. Answers
are compared by content with what was stored, not by status code."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhirclient.client import FHIRClient
from fhirclient.models.device import Device as ClientDevice
from fhirclient.models.flag import Flag as ClientFlag
from fhirclient.models.observation import Observation as ClientObservation
from fhirclient.models.patient import Patient as ClientPatient
from fhirpy import AsyncFHIRClient

from monitoring.api.app import create_app
from monitoring.fhir.paging import Cursor, encode
from monitoring.storage.db import Database
from tests.api_support import SETTINGS, api_client, serving, token_for
from tests.factories import heart_rates, readings_payload
from tests.monitoring.api.access_world import build
from tests.monitoring.api.fhir_support import PRESSURES, RATES, monitored
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration
FHIR = "/api/v1/fhir"


def _content(resource: dict[str, Any]) -> tuple[tuple[str, str], Any]:
    """(code, time) and value of an Observation, comparable with what was stored."""
    key = (
        resource["code"]["coding"][0]["code"],
        datetime.fromisoformat(resource["effectiveDateTime"]).isoformat(),
    )
    if "component" in resource:
        return key, tuple(c["valueQuantity"]["value"] for c in resource["component"])
    return key, resource["valueQuantity"]["value"]


async def test_fhirpy_fetch_all_returns_every_observation_across_pages(database: Database) -> None:
    world = await build(database)
    patient, stored = await monitored(database, world)
    async with serving(database) as host:
        client = AsyncFHIRClient(
            f"http://{host}{FHIR}", authorization=f"Bearer {token_for(world.users['clinician'])}"
        )
        search = client.resources("Observation").search(patient=str(patient.patient_id)).limit(50)
        everything = await search.fetch_all()
        total = await search.count()
        by_mrn = await client.resources("Patient").search(identifier=f"MRN-{patient.serial[-5:]}").fetch_all()
        devices = await client.resources("Device").search(patient=str(patient.patient_id)).fetch_all()
    assert total == len(stored) == RATES + PRESSURES
    assert len(everything) == total, "every page followed to the end"
    assert len({r["id"] for r in everything}) == total, "no resource twice"
    assert dict(_content(dict(r)) for r in everything) == stored
    assert [p["id"] for p in by_mrn] == [str(patient.patient_id)]
    assert sorted(d["identifier"][0]["value"] for d in devices) == sorted(
        [patient.serial, f"{patient.serial}-cuff"]
    )


async def test_paging_neither_loses_nor_repeats_when_readings_arrive_between_pages(
    database: Database,
) -> None:
    world = await build(database)
    patient, stored = await monitored(database, world)
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        first = (
            await client.get(f"{FHIR}/Observation", params={"patient": str(patient.patient_id), "_count": 50})
        ).json()
        # A device uploads what it kept while offline (older, inside the window) and new readings come in.
        earlier = heart_rates([99] * 30, start=datetime.now(UTC) - timedelta(hours=4, minutes=30), step_s=7)
        later = heart_rates(
            [98] * 10, start=datetime.now(UTC) + timedelta(seconds=5), step_s=1
        )  # after page 1
        await make_pipeline(database).process(
            [inbound(patient.serial, readings_payload(patient.serial, 2, [*earlier, *later]))], Acks()
        )
        pages = [first]
        while nxt := _link(pages[-1], "next"):
            assert nxt.startswith("http://testserver/api/v1/fhir/Observation?"), "absolute, on this server"
            pages.append((await client.get(nxt)).json())
        previous = _link(pages[1], "previous")
        assert previous is not None
        back = (await client.get(previous)).json()
    assert first["total"] == len(stored)
    assert [p["total"] for p in pages[1:]] == [len(stored) + len(earlier)] * (len(pages) - 1), (
        "counts the upload"
    )
    seen = [e["resource"] for p in pages for e in p.get("entry", [])]
    assert len({r["id"] for r in seen}) == len(seen), "no resource twice"
    got = dict(_content(r) for r in seen)
    assert stored.items() <= got.items(), "nothing stored before the first page is lost"
    assert {v for k, v in got.items() if k not in stored} <= {99}, (
        "only the upload is new; the pinned window keeps later readings out"
    )
    assert [e["resource"]["id"] for e in back["entry"]] == [e["resource"]["id"] for e in first["entry"]]
    for page in pages:
        Bundle.model_validate(page)
        for entry in page.get("entry", []):
            resource = entry["resource"]
            assert entry["fullUrl"] == f"http://testserver{FHIR}/Observation/{resource['id']}"


def _link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == relation), None)


async def test_count_zero_gives_the_total_and_every_error_is_an_operation_outcome(database: Database) -> None:
    world = await build(database)
    patient, stored = await monitored(database, world)
    who = str(patient.patient_id)
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        counted = (await client.get(f"{FHIR}/Observation", params={"patient": who, "_count": 0})).json()
        patients = (await client.get(f"{FHIR}/Patient", params={"_count": 1})).json()
        next_patients = _link(patients, "next")
        assert next_patients is not None
        patient_token = httpx.URL(next_patients).params["_page"]  # a real token, of another search
        bad = {
            "a token of the wrong types": await client.get(
                f"{FHIR}/Observation", params={"patient": who, "_page": encode(Cursor(True, ("x", 1, "y")))}
            ),
            "another search's page token": await client.get(
                f"{FHIR}/Observation", params={"patient": who, "_page": patient_token}
            ),
            "date without a prefix": await client.get(
                f"{FHIR}/Observation", params={"patient": who, "date": "2026-01-01"}
            ),
            "count too large": await client.get(
                f"{FHIR}/Observation", params={"patient": who, "_count": 5000}
            ),
            "not a page token": await client.get(
                f"{FHIR}/Observation", params={"patient": who, "_page": "garbage"}
            ),
            "no patient": await client.get(f"{FHIR}/Observation"),
            "another team's patient": await client.get(
                f"{FHIR}/Observation", params={"patient": str(world.other_patient)}
            ),
            "unknown id": await client.get(f"{FHIR}/Patient/not-a-uuid"),
            "unknown type": await client.get(f"{FHIR}/Encounter"),
        }
    async with api_client(database, as_user=None) as anonymous:
        bad["not signed in"] = await anonymous.get(f"{FHIR}/Patient")
    assert counted["total"] == len(stored)
    assert "entry" not in counted
    assert [link["relation"] for link in counted["link"]] == ["self"]
    statuses = {name: r.status_code for name, r in bad.items()}
    assert statuses == {
        "date without a prefix": 400,
        "count too large": 400,
        "not a page token": 400,
        "another search's page token": 400,
        "a token of the wrong types": 400,
        "no patient": 400,
        "another team's patient": 404,
        "unknown id": 404,
        "unknown type": 404,
        "not signed in": 401,
    }
    for name, response in bad.items():
        assert response.headers["content-type"].startswith("application/fhir+json"), name
        outcome = response.json()
        OperationOutcome.model_validate(outcome)
        assert outcome["issue"][0]["diagnostics"], name
    assert bad["count too large"].json()["issue"][0]["expression"] == ["_count"]
    assert bad["unknown id"].json()["issue"][0]["code"] == "not-found"


async def test_fhirclient_reads_each_kind_by_id_and_the_full_urls_resolve(database: Database) -> None:
    world = await build(database)
    patient, _ = await monitored(database, world)
    who = str(patient.patient_id)
    async with serving(database) as host:
        base = f"http://{host}{FHIR}"
        headers = {"Authorization": f"Bearer {token_for(world.users['clinician'])}"}
        async with httpx.AsyncClient(headers=headers) as http:
            observations = (
                await http.get(f"{base}/Observation", params={"patient": who, "_count": 3})
            ).json()
            flags = (await http.get(f"{base}/Flag", params={"patient": str(world.patient)})).json()
            devices = (
                await http.get(f"{base}/Device", params={"patient": who, "identifier": patient.serial})
            ).json()
            resolved = [(await http.get(e["fullUrl"])).json() for e in observations["entry"]]

        def read_all() -> tuple[Any, ...]:
            smart = FHIRClient(settings={"app_id": "rpm-test", "api_base": base})
            smart.server.session.headers.update(headers)
            smart.server.prepare()  # reads and parses the CapabilityStatement (R4 models)
            mrn = f"urn:rpm:site:TEST:mrn|MRN-{patient.serial[-5:]}"
            return (
                ClientPatient.read(who, smart.server),
                [ClientObservation.read(e["resource"]["id"], smart.server) for e in observations["entry"]],
                ClientFlag.read(flags["entry"][0]["resource"]["id"], smart.server),
                ClientDevice.read(devices["entry"][0]["resource"]["id"], smart.server),
                list(ClientPatient.where(struct={"identifier": mrn}).perform_resources_iter(smart.server)),
                smart.server.capabilityStatement.fhirVersion,
            )

        person, readings, flag, device, found, version = await asyncio.to_thread(read_all)
    assert [p.id for p in found] == [who], "a search by MRN, as fhirclient sends it"
    assert version == "4.0.1"
    assert person.identifier[0].value == f"MRN-{patient.serial[-5:]}"
    assert person.identifier[0].system == "urn:rpm:site:TEST:mrn"
    assert person.name[0].text.startswith("Patient ")
    assert [r.id for r in readings] == [e["resource"]["id"] for e in observations["entry"]]
    assert [_content(r.as_json()) for r in readings] == [
        _content(e["resource"]) for e in observations["entry"]
    ]
    assert resolved == [e["resource"] for e in observations["entry"]]
    assert flag.status == "active"
    assert flag.subject.reference == f"Patient/{world.patient}"
    assert device.identifier[0].value == patient.serial
    assert device.patient.reference == f"Patient/{who}"


async def test_reads_outside_the_callers_reach_are_404_like_missing_ones(database: Database) -> None:
    world = await build(database)
    patient, _ = await monitored(database, world)
    async with api_client(database, as_user=world.users["coordinator"]) as mine:
        obs = (
            await mine.get(f"{FHIR}/Observation", params={"patient": str(patient.patient_id), "_count": 1})
        ).json()
        flag = (await mine.get(f"{FHIR}/Flag", params={"patient": str(world.patient)})).json()
        device = (
            await mine.get(f"{FHIR}/Device", params={"patient": str(patient.patient_id), "_count": 1})
        ).json()
    paths = [
        f"{FHIR}/Patient/{patient.patient_id}",
        f"{FHIR}/Observation/{obs['entry'][0]['resource']['id']}",
        f"{FHIR}/Flag/{flag['entry'][0]['resource']['id']}",
        f"{FHIR}/Device/{device['entry'][0]['resource']['id']}",
    ]
    async with api_client(database, as_user=world.users["outsider"]) as outsider:
        answers = [await outsider.get(path) for path in paths]
        own = (await outsider.get(f"{FHIR}/Patient")).json()
    assert [a.status_code for a in answers] == [404] * 4
    assert [e["resource"]["id"] for e in own["entry"]] == [str(world.other_patient)]
    assert own["total"] == 1


async def test_the_capability_statement_lists_exactly_what_is_served(database: Database) -> None:
    async with api_client(database, as_user=None) as anonymous:
        response = await anonymous.get(f"{FHIR}/metadata")
    assert response.status_code == 200
    statement = response.json()
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["implementation"]["url"] == f"http://testserver{FHIR}"
    listed = {r["type"]: r for r in statement["rest"][0]["resource"]}
    app = create_app(settings=SETTINGS, database=database, probes=[])
    served = {
        f"{method.upper()} {path.removeprefix(FHIR)}"
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(FHIR + "/")
        for method in operations
    }
    expected = {"GET /metadata", "GET /Observation/$lastn", "GET /Subscription/{subscription_id}/$status"}
    expected |= {  # Bulk Data: the operations, their status URL and files
        "GET /$export",
        "GET /Patient/$export",
        "GET /Group/{team_id}/$export",
        "GET /$export-status/{export_id}",
        "DELETE /$export-status/{export_id}",
        "GET /$export-file/{export_id}/{name}",
    }
    operations = {o["name"] for o in statement["rest"][0]["operation"]}
    operations |= {o["name"] for r in statement["rest"][0]["resource"] for o in r.get("operation", [])}
    assert {"export", "patient-export", "group-export"} <= operations
    verbs = {"read": "GET /{kind}/{{{param}}}", "search-type": "GET /{kind}", "create": "POST /{kind}"}
    verbs["delete"] = "DELETE /{kind}/{{{param}}}"
    for kind, resource in listed.items():
        for interaction in resource.get("interaction", []):
            expected.add(verbs[interaction["code"]].format(kind=kind, param=_read_param(kind)))
    assert served == expected
    (subscriptions,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Subscription"]
    assert (
        subscriptions["extension"][0]["valueCanonical"]
        == f"http://testserver{FHIR}/SubscriptionTopic/alert-changes"
    )


def _read_param(kind: str) -> str:
    return {
        "Patient": "patient_id",
        "Observation": "observation_id",
        "Flag": "alert_id",
        "Device": "device_id",
        "Subscription": "subscription_id",
        "SubscriptionTopic": "topic_id",
    }[kind]


async def test_a_fault_of_ours_is_an_operation_outcome_too(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await build(database)

    async def broken(**_: object) -> int:
        raise RuntimeError("a fault in counting")

    monkeypatch.setattr("monitoring.fhir.repository.count_readings", broken)
    async with serving(database) as host, httpx.AsyncClient() as client:
        token = {"Authorization": f"Bearer {token_for(world.users['coordinator'])}"}
        answer = await client.get(f"http://{host}{FHIR}/Observation?patient={world.patient}", headers=token)
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/fhir+json")
    (issue,) = answer.json()["issue"]
    assert (issue["severity"], issue["code"]) == ("fatal", "exception")
    assert "counting" not in answer.text, "the cause stays in the log"
