"""Nightscout uploader addresses: who may use them, what they refuse and how, and the documents
they keep. (Entries through the real broker and a real client: tests/e2e/test_nightscout_uploads.py.)"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from monitoring.access.principal import Role
from monitoring.config import MqttSettings
from monitoring.embedded.broker import free_port
from monitoring.nightscout.gateway import ReadingsGateway
from monitoring.storage.db import Database
from monitoring.storage.models import AuditEntry
from tests import factories
from tests.api_support import SETTINGS, api_client, token_for

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


async def _uploader(database: Database, *, kind: str = "cgm") -> tuple[factories.Enrolled, dict[str, Any]]:
    patient = await factories.enrol(database, kind=kind)
    async with api_client(database) as admin:
        answer = await admin.post(f"/api/v1/devices/{patient.device_id}/nightscout")
    return patient, answer.json() | {"status_code": answer.status_code}


def _sha1(secret: str) -> dict[str, str]:
    return {"api-secret": hashlib.sha1(secret.encode()).hexdigest()}


async def test_an_admin_registers_rotates_and_revokes_an_uploader(database: Database) -> None:
    patient, first = await _uploader(database)
    assert first["status_code"] == 201
    assert first["base_url"] == f"http://testserver/ns/{patient.serial}/"
    assert first["token"].startswith(patient.serial.lower() + "-")
    base = f"/ns/{patient.serial}/api/v1/verifyauth"
    async with api_client(database, as_user=None) as app:
        assert (await app.get(base, headers=_sha1(first["api_secret"]))).status_code == 200
        async with api_client(database) as admin:
            second = (await admin.post(f"/api/v1/devices/{patient.device_id}/nightscout")).json()
            assert (await app.get(base, headers=_sha1(first["api_secret"]))).status_code == 401  # replaced
            assert (await app.get(base, params={"token": second["token"]})).status_code == 200
            revoked = await admin.delete(f"/api/v1/devices/{patient.device_id}/nightscout")
            assert revoked.json()["revoked"] is True
            assert (await app.get(base, params={"token": second["token"]})).status_code == 401
            again = await admin.delete(f"/api/v1/devices/{patient.device_id}/nightscout")
            assert again.json()["revoked"] is False


async def test_only_an_active_cgm_gets_an_uploader(database: Database) -> None:
    _, wearable = await _uploader(database, kind="wearable")
    assert wearable["status_code"] == 400
    assert "cgm" in wearable["error"]["message"]
    patient = await factories.enrol(database, kind="cgm")
    async with api_client(database) as admin:
        await admin.post(f"/api/v1/devices/{patient.device_id}/unassign")
        await admin.post(f"/api/v1/devices/{patient.device_id}/retire")
        retired = await admin.post(f"/api/v1/devices/{patient.device_id}/nightscout")
    assert retired.status_code == 409


async def test_credentials_are_checked_as_nightscout_clients_send_them(database: Database) -> None:
    patient, issued = await _uploader(database)
    other, _ = await _uploader(database)
    path = f"/ns/{patient.serial}/api/v1/entries.json"
    clinician = await factories.user(database, Role.CLINICIAN)
    async with api_client(database, as_user=None) as app:
        refused = {
            "nothing": await app.get(path),
            "plain secret": await app.get(path, headers={"api-secret": issued["api_secret"]}),
            "wrong secret": await app.get(path, headers=_sha1("not the secret")),
            "another uploader's address": await app.get(
                f"/ns/{other.serial}/api/v1/entries.json", headers=_sha1(issued["api_secret"])
            ),
            "unknown serial": await app.get(
                "/ns/no-such-cgm/api/v1/entries.json", params={"token": issued["token"]}
            ),
            "a care team token": await app.get(
                path, headers={"Authorization": f"Bearer {token_for(clinician)}"}
            ),
        }
        accepted = {
            "SHA-1 hex": await app.get(path, headers=_sha1(issued["api_secret"])),
            "token query": await app.get(path, params={"token": issued["token"]}),
            "token in api-secret": await app.get(path, headers={"api-secret": f"token={issued['token']}"}),
        }
    assert {why: r.status_code for why, r in refused.items()} == dict.fromkeys(refused, 401)
    body = refused["wrong secret"].json()
    assert (body["status"], body["message"]) == (401, "Unauthorized")
    assert "not valid for this uploader" in body["description"]
    assert {why: r.status_code for why, r in accepted.items()} == dict.fromkeys(accepted, 200)

    async with database.sessions() as session:
        rows = (
            await session.scalars(select(AuditEntry).where(AuditEntry.username == f"device:{patient.serial}"))
        ).all()
    assert {r.action for r in rows} >= {"token_refused", "read"}
    assert {r.patient_id for r in rows if r.action == "read"} == {patient.patient_id}


async def test_a_device_not_assigned_to_a_patient_may_not_upload(database: Database) -> None:
    patient, issued = await _uploader(database)
    async with api_client(database) as admin:
        await admin.post(f"/api/v1/devices/{patient.device_id}/unassign")
    async with api_client(database, as_user=None) as app:
        answer = await app.get(f"/ns/{patient.serial}/api/v1/status.json", params={"token": issued["token"]})
    assert answer.status_code == 403
    assert "not assigned to a patient" in answer.json()["description"]


async def test_bad_entries_and_queries_are_refused_saying_which_and_why(database: Database) -> None:
    patient, issued = await _uploader(database)
    at = round((NOW - timedelta(minutes=5)).timestamp() * 1000)
    cases: dict[str, tuple[str, str, Any, str]] = {
        "no time": ("POST", "entries", [{"type": "sgv", "sgv": 120}], "entry 0: needs date"),
        "text value": (
            "POST",
            "entries",
            [{"type": "sgv", "sgv": 120, "date": at}, {"type": "sgv", "sgv": "high", "date": at}],
            "entry 1: sgv 'high' is not a number",
        ),
        "not an object": ("POST", "entries", [42], "entry 0: each of the entries must be a JSON object"),
        "too many": ("POST", "entries", [{"type": "cal", "date": at}] * 2001, "at most 2000"),
        "offset missing": (
            "POST",
            "entries",
            {"sgv": 99, "dateString": "2026-12-04T08:00:00"},
            "no UTC offset",
        ),
        "unknown filter": ("GET", "entries.json?find[sgv][$lt]=70", None, "find[sgv][$lt] is not supported"),
        "count zero": ("GET", "entries.json?count=0", None, "count '0' must be a whole number"),
        "unknown type": ("GET", "entries/rawbg.json", None, "not served"),
    }
    got = {}
    async with api_client(database, as_user=None) as app:
        for why, (method, path, body, _) in cases.items():
            route, _, query = path.partition("?")
            params = dict(httpx.QueryParams(query)) | {"token": issued["token"]}
            answer = await app.request(
                method, f"/ns/{patient.serial}/api/v1/{route}", json=body, params=params
            )
            got[why] = (answer.status_code, str(answer.json()))
    for why, (_, _, _, says) in cases.items():
        assert says in got[why][1], (why, got[why])
    assert {why: status for why, (status, _) in got.items()} == {
        **dict.fromkeys(cases, 400),
        "unknown type": 404,
    }


async def test_dexcom_error_codes_and_calibrations_are_kept_not_read_as_glucose(database: Database) -> None:
    patient, issued = await _uploader(database)
    at = round((NOW - timedelta(minutes=5)).timestamp() * 1000)
    special = [
        {"type": "sgv", "sgv": 5, "date": at, "device": "dexcom"},
        {"type": "cal", "slope": 900, "date": at},
    ]
    async with api_client(database, as_user=None) as app:  # no broker: nothing here needs one
        answer = await app.post(
            f"/ns/{patient.serial}/api/v1/entries", json=special, params={"token": issued["token"]}
        )
        listed = await app.get(f"/ns/{patient.serial}/api/v1/entries.json", params={"token": issued["token"]})
    assert answer.status_code == 200
    assert [e["type"] for e in answer.json()] == ["sgv", "cal"]
    assert all(len(e["_id"]) == 24 for e in answer.json())
    assert listed.json() == []  # not glucose readings


async def test_entries_are_refused_with_retry_after_while_the_broker_is_unreachable(
    database: Database,
) -> None:
    patient, issued = await _uploader(database)
    closed = MqttSettings(url=f"mqtt://svc:pw@127.0.0.1:{free_port()}")
    gateway = ReadingsGateway(closed, client_id="ns-closed")
    await gateway.start()
    entry = {"type": "sgv", "sgv": 101, "date": round(NOW.timestamp() * 1000)}
    try:
        async with api_client(database, as_user=None, gateway=gateway) as app:
            answer = await app.post(
                f"/ns/{patient.serial}/api/v1/entries", json=entry, params={"token": issued["token"]}
            )
    finally:
        await gateway.stop()
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "30"
    assert "not reachable" in answer.json()["description"]


async def test_treatments_and_device_statuses_are_kept_once_replaced_by_id_and_deleted(
    database: Database,
) -> None:
    patient, issued = await _uploader(database)
    other, other_issued = await _uploader(database)
    earlier, later = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    carbs = {"eventType": "Carbs", "carbs": 30, "created_at": earlier.isoformat()}
    bolus = {
        "eventType": "Correction Bolus",
        "insulin": 2.0,
        "created_at": later.isoformat(),
        "_id": "a" * 24,
    }
    base = f"/ns/{patient.serial}/api/v1"
    auth = {"token": issued["token"]}
    async with api_client(database, as_user=None) as app:
        assert (await app.post(f"{base}/treatments", json=[carbs, bolus], params=auth)).status_code == 200
        await app.post(f"{base}/treatments.json", json=[carbs, bolus], params=auth)  # again: nothing new
        assert [t["eventType"] for t in (await app.get(f"{base}/treatments.json", params=auth)).json()] == [
            "Correction Bolus",
            "Carbs",
        ]
        await app.put(f"{base}/treatments", json=bolus | {"insulin": 2.5}, params=auth)
        since = {**auth, "find[created_at][$gte]": later.isoformat()}
        assert [t["insulin"] for t in (await app.get(f"{base}/treatments.json", params=since)).json()] == [
            2.5
        ]
        assert len((await app.get(f"{base}/treatments.json", params={**auth, "count": "1"})).json()) == 1
        status = {"device": "openaps://phone", "uploaderBattery": 50, "created_at": later.isoformat()}
        await app.post(f"{base}/devicestatus", json=status, params=auth)
        assert [
            d["uploaderBattery"] for d in (await app.get(f"{base}/devicestatus.json", params=auth)).json()
        ] == [50]
        theirs = await app.get(
            f"/ns/{other.serial}/api/v1/treatments.json", params={"token": other_issued["token"]}
        )
        assert theirs.json() == []
        assert (await app.delete(f"{base}/treatments/{'A' * 24}", params=auth)).status_code == 200
        assert (await app.delete(f"{base}/treatments/{'a' * 24}", params=auth)).status_code == 404
        assert [t["eventType"] for t in (await app.get(f"{base}/treatments.json", params=auth)).json()] == [
            "Carbs"
        ]


async def test_every_uploader_route_refuses_a_request_without_the_devices_credentials(
    database: Database,
) -> None:
    patient, _ = await _uploader(database)
    async with api_client(database) as admin:  # signed in as a user: still not the uploader
        paths = admin._transport.app.openapi()["paths"]  # type: ignore[attr-defined]
        routes = [(m.upper(), p) for p, ops in paths.items() if p.startswith("/ns/") for m in ops]
        assert len(routes) >= 12
        got = {}
        for method, path in routes:
            url = path.replace("{serial}", patient.serial).replace("{spec}", "sgv.json")
            url = url.replace("{document_id}", "b" * 24)
            got[(method, path)] = (await admin.request(method, url, json=[])).status_code
    # Refused, and after the sign-in failure limit from one address, refused for a while (429).
    statuses = list(got.values())
    limit = SETTINGS.api.login_max_failures
    assert statuses[:limit] == [401] * limit, got
    assert set(statuses[limit:]) == {429}, got
