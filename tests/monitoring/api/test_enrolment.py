"""Enrolment by admins: patients with care plans; devices with credentials shown once, assigned,
unassigned and retired; and what an unassigned device's readings become."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitoring.access.principal import Role
from monitoring.config import Settings
from monitoring.registry.broker_auth import ServiceAccount, export, verify_broker_hash
from monitoring.storage.db import Database
from monitoring.storage.models import DeadLetter, Device, Reading
from tests.api_support import api_client
from tests.factories import heart_rates, readings_payload, team, user
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


async def _hash(database: Database, device_id: str) -> str | None:
    async with database.sessions() as session:
        device = await session.get(Device, device_id)
        assert device is not None
        return device.mqtt_password_hash


async def test_an_admin_enrols_a_patient_in_a_team(database: Database) -> None:
    admin, clinician = await user(database, Role.ADMIN), await user(database, Role.CLINICIAN)
    care_team = await team(database)
    foreign_team = None
    async with api_client(database, as_user=await user(database, Role.ADMIN, site="ELSEWHERE")) as other:
        foreign_team = (await other.post("/api/v1/teams", json={"name": "Theirs"})).json()["id"]
    body = {
        "mrn": "E-1",
        "display_name": "Ada",
        "conditions": ["heart_failure"],
        "care_team_id": str(care_team),
    }
    async with api_client(database, as_user=admin) as client:
        created = await client.post("/api/v1/patients", json=body)
        again = await client.post("/api/v1/patients", json=body)
        elsewhere = await client.post(
            "/api/v1/patients", json={**body, "mrn": "E-2", "care_team_id": foreign_team}
        )
    async with api_client(database, as_user=clinician) as client:
        refused = await client.post("/api/v1/patients", json={**body, "mrn": "E-3"})
    assert created.status_code == 201
    patient = created.json()
    assert (patient["care_team_id"], patient["conditions"]) == (str(care_team), ["heart_failure"])
    assert {t["series"] for t in patient["care_plan"]} >= {"heart_rate", "spo2", "body_temperature"}
    assert (again.status_code, elsewhere.status_code, refused.status_code) == (409, 404, 403)
    assert "already enrolled" in again.json()["error"]["message"]


async def test_a_device_lifecycle_with_credentials_shown_once(database: Database) -> None:
    admin = await user(database, Role.ADMIN)
    async with api_client(database, as_user=admin) as client:
        one = (await client.post("/api/v1/patients", json={"mrn": "D-1", "display_name": "One"})).json()
        two = (await client.post("/api/v1/patients", json={"mrn": "D-2", "display_name": "Two"})).json()
        issued = await client.post(
            "/api/v1/devices", json={"serial": "cuff-0001", "kind": "bp_cuff", "patient_id": one["id"]}
        )
        credentials = issued.json()
        device = credentials["device"]["id"]
        detail = (await client.get(f"/api/v1/patients/{one['id']}")).json()
        steal = await client.post(f"/api/v1/devices/{device}/assign", json={"patient_id": two["id"]})
        rotated = (await client.post(f"/api/v1/devices/{device}/credentials")).json()
        unassigned = await client.post(f"/api/v1/devices/{device}/unassign")
        unassigned_again = await client.post(f"/api/v1/devices/{device}/unassign")
        moved = await client.post(f"/api/v1/devices/{device}/assign", json={"patient_id": two["id"]})
        retired = await client.post(f"/api/v1/devices/{device}/retire")
        revived = await client.post(f"/api/v1/devices/{device}/assign", json={"patient_id": one["id"]})
        bad_kind = await client.post("/api/v1/devices", json={"serial": "toaster-1", "kind": "toaster"})
    async with api_client(database, as_user=await user(database, Role.ADMIN, site="ELSEWHERE")) as other:
        foreign = await other.post(f"/api/v1/devices/{device}/retire")
    assert issued.status_code == 201
    assert credentials["mqtt_username"] == "cuff-0001"
    assert credentials["readings_topic"].endswith("/cuff-0001/readings")
    assert "mqtt_password" not in str(detail)
    assert [d["serial"] for d in detail["devices"]] == ["cuff-0001"]
    assert rotated["mqtt_password"] != credentials["mqtt_password"]
    assert steal.status_code == 409
    assert (unassigned.json()["patient_id"], unassigned_again.status_code) == (None, 409)
    assert moved.json()["patient_id"] == two["id"]
    assert (retired.json()["status"], retired.json()["patient_id"]) == ("retired", None)
    assert (revived.status_code, bad_kind.status_code, foreign.status_code) == (409, 400, 404)
    assert await _hash(database, device) is None  # a retired device's credentials are gone


async def test_the_password_is_stored_hashed_and_rotation_replaces_it(database: Database) -> None:
    async with api_client(database, as_user=await user(database, Role.ADMIN)) as client:
        first = (
            await client.post("/api/v1/devices", json={"serial": "watch-0001", "kind": "wearable"})
        ).json()
        device = first["device"]["id"]
        stored = await _hash(database, device)
        second = (await client.post(f"/api/v1/devices/{device}/credentials")).json()
    assert stored is not None
    assert first["mqtt_password"] not in stored
    assert verify_broker_hash(stored, first["mqtt_password"])
    replaced = await _hash(database, device)
    assert replaced is not None
    assert not verify_broker_hash(replaced, first["mqtt_password"])
    assert verify_broker_hash(replaced, second["mqtt_password"])


async def test_readings_from_an_unassigned_device_go_to_dead_letters(database: Database) -> None:
    async with api_client(database, as_user=await user(database, Role.ADMIN)) as client:
        await client.post("/api/v1/devices", json={"serial": "watch-0002", "kind": "wearable"})
    result = await make_pipeline(database).process(
        [inbound("watch-0002", readings_payload("watch-0002", 1, heart_rates([70, 71])))], Acks()
    )
    async with database.sessions() as session:
        codes = (await session.scalars(select(DeadLetter.code))).all()
        stored = await session.scalar(select(func.count()).select_from(Reading))
    assert (result.stored, stored) == (0, 0)
    assert codes == ["device_unassigned"]


async def test_a_taken_serial_says_nothing_about_where_it_is_taken(database: Database) -> None:
    ours, theirs = await user(database, Role.ADMIN), await user(database, Role.ADMIN, site="ELSEWHERE")
    device = {"serial": "cuff-shared-01", "kind": "bp_cuff"}
    async with api_client(database, as_user=ours) as admin:
        assert (await admin.post("/api/v1/devices", json=device)).status_code == 201
        again_here = await admin.post("/api/v1/devices", json=device)
    async with api_client(database, as_user=theirs) as other:
        elsewhere = await other.post("/api/v1/devices", json=device)
        listed = (await other.get("/api/v1/devices")).json()["items"]
    assert (again_here.status_code, elsewhere.status_code) == (409, 409)
    assert again_here.json() == elsewhere.json()  # the same words whether it is here or at another site
    assert listed == []


async def test_no_device_may_take_a_service_accounts_name(database: Database, tmp_path: Path) -> None:
    settings = Settings(
        environment="test",
        api={"secret_key": "x" * 40},
        mqtt={"url": "mqtt://ingest-svc:secret@127.0.0.1:1883"},
    )
    async with api_client(database, settings=settings) as admin:
        answers = {
            serial: await admin.post("/api/v1/devices", json={"serial": serial, "kind": "wearable"})
            for serial in ("ingest-svc", "INGEST-SVC", "rpm-ingest", "mosquitto", "watch-0001")
        }
    assert {s: r.status_code for s, r in answers.items()} == {
        "ingest-svc": 409,
        "INGEST-SVC": 409,
        "rpm-ingest": 409,
        "mosquitto": 409,
        "watch-0001": 201,
    }
    # Should one have got in before the rule (a row from an older version), the broker's password
    # file leaves it out.
    async with database.unit_of_work() as session:
        session.add(
            Device(serial="svc-ingest", kind="wearable", mqtt_password_hash="$7$1$a$b", status="active")
        )
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    await export(
        database, root="rpm", services=[ServiceAccount("svc-ingest", "s3cret")], passwd=passwd, acl=acl
    )
    users = [line.split(":")[0] for line in passwd.read_text().splitlines()]
    assert users.count("svc-ingest") == 1
    assert "watch-0001" in users
