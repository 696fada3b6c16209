"""Who may call what: tokens, roles, care teams, and the audit trail they leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from monitoring.access.tokens import ALGORITHM, issue_token
from monitoring.storage.db import Database
from tests.api_support import SETTINGS, api_client, token_for
from tests.factories import PASSWORD
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.integration


async def test_lists_show_only_what_the_caller_may_see(database: Database) -> None:
    world = await build(database)
    seen: dict[str, tuple[set[str], set[str]]] = {}
    for role in ("admin", "coordinator", "outsider", "foreign_admin"):
        async with api_client(database, as_user=world.users[role]) as client:
            patients = {p["id"] for p in (await client.get("/api/v1/patients")).json()["items"]}
            alerts = {a["patient_id"] for a in (await client.get("/api/v1/alerts")).json()["items"]}
        seen[role] = (patients, alerts)
    mine, theirs = str(world.patient), str(world.other_patient)
    assert seen["admin"] == ({mine, theirs}, {mine, theirs})
    assert seen["coordinator"] == ({mine}, {mine})
    assert seen["outsider"] == ({theirs}, {theirs})
    assert seen["foreign_admin"] == (set(), set())


async def test_tokens_are_refused_when_missing_expired_tampered_or_for_another_audience(
    database: Database,
) -> None:
    world = await build(database)
    who = world.users["coordinator"]
    good = token_for(who)
    expired = issue_token(
        user_id=who, role="coordinator", settings=SETTINGS.api, now=datetime.now(UTC) - timedelta(hours=2)
    )
    header, payload, signature = good.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    claims = jwt.decode(good, options={"verify_signature": False})
    elsewhere = jwt.encode(
        {**claims, "aud": "another-service"}, SETTINGS.api.secret_key.get_secret_value(), algorithm=ALGORITHM
    )
    forged = jwt.encode(claims, "a-different-secret-of-enough-length-000", algorithm=ALGORITHM)
    unsigned = jwt.encode(claims, None, algorithm="none")
    messages = {}
    async with api_client(database, as_user=None) as client:
        for name, token in [
            ("missing", None),
            ("expired", expired),
            ("tampered", tampered),
            ("audience", elsewhere),
            ("forged", forged),
            ("unsigned", unsigned),
        ]:
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
            response = await client.get("/api/v1/patients", headers=headers)
            assert response.status_code == 401, name
            messages[name] = response.json()["error"]["message"]
        assert (
            await client.get("/api/v1/patients", headers={"Authorization": f"Bearer {good}"})
        ).status_code == 200
    assert "expired" in messages["expired"]
    assert "another service" in messages["audience"]
    assert "signature" in messages["forged"]


async def test_sign_in_with_the_password_flow(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=None) as client:
        me = (await client.get("/api/v1/users")).status_code
        async with api_client(database, as_user=world.users["admin"]) as admin:
            username = next(
                u["username"]
                for u in (await admin.get("/api/v1/users")).json()["items"]
                if u["role"] == "clinician"
            )
        wrong = await client.post(
            "/api/v1/auth/token", data={"username": username, "password": "not it at all"}
        )
        nobody = await client.post(
            "/api/v1/auth/token", data={"username": "nobody-here", "password": PASSWORD}
        )
        issued = await client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        token = issued.json()["access_token"]
        profile = (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me == 401
    assert (wrong.status_code, nobody.status_code) == (401, 401)
    assert wrong.json() == nobody.json()  # no hint which of the two was wrong
    assert issued.json()["expires_in"] == SETTINGS.api.token_ttl_s
    assert (profile["username"], profile["role"]) == (username, "clinician")


async def test_every_patient_read_is_audited(database: Database) -> None:
    world = await build(database)
    coordinator, admin_id = world.users["coordinator"], world.users["admin"]
    async with api_client(database, as_user=coordinator) as client:
        assert (await client.get(f"/api/v1/patients/{world.patient}")).status_code == 200
        assert (await client.get(f"/api/v1/patients/{world.other_patient}")).status_code == 404
    async with api_client(database, as_user=admin_id) as admin:
        entries = (await admin.get("/api/v1/audit", params={"user_id": str(coordinator)})).json()["items"]
    assert [(e["action"], e["patient_id"], e["status"]) for e in entries] == [
        ("read", str(world.other_patient), 404),
        ("read", str(world.patient), 200),
    ]
    assert entries[0]["client"]
    assert entries[0]["resource"].startswith("GET /api/v1/patients/")
