"""The audit log records sign-ins, failures, lock-outs and refused tokens, and which patients a list showed.

Never the password or the token. Refusals from one address are bounded (a flood
of forged tokens must not fill the table), and the overflow is counted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from monitoring.access.tokens import issue_token
from monitoring.storage.db import Database
from monitoring.storage.models import AuditEntry, User
from tests.api_support import SETTINGS, api_client, token_for
from tests.factories import PASSWORD
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.integration


async def _entries(database: Database, *actions: str) -> list[AuditEntry]:
    async with database.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(actions)).order_by(AuditEntry.id)
        )
        return list(rows)


def _text(entry: AuditEntry) -> str:
    return repr({c.name: getattr(entry, c.name) for c in AuditEntry.__table__.columns})


async def test_sign_ins_failures_and_lock_outs_are_audited_without_the_password(database: Database) -> None:
    world = await build(database)
    async with database.sessions() as session:
        clinician = await session.get(User, world.users["clinician"])
    assert clinician is not None
    wrong = "not the password at all"
    async with api_client(database, as_user=None) as client:
        good = await client.post(
            "/api/v1/auth/token", data={"username": clinician.username, "password": PASSWORD}
        )
        nobody = await client.post("/api/v1/auth/token", data={"username": "no-such-user", "password": wrong})
        statuses = [
            (
                await client.post(
                    "/api/v1/auth/token", data={"username": clinician.username, "password": wrong}
                )
            ).status_code
            for _ in range(SETTINGS.api.login_max_failures + 1)
        ]
    assert (good.status_code, nobody.status_code) == (200, 401)
    assert statuses == [401] * SETTINGS.api.login_max_failures + [429]
    signed_in = await _entries(database, "sign_in")
    failed = await _entries(database, "sign_in_failed")
    locked = await _entries(database, "sign_in_locked")
    assert [(e.user_id, e.status) for e in signed_in] == [(clinician.id, 200)]
    assert failed[0].user_id is None
    assert failed[0].username == "no-such-user"
    assert failed[0].detail == {"reason": "no such user"}
    assert [(e.user_id, e.detail) for e in failed[1:]] == [(clinician.id, {"reason": "wrong password"})] * 5
    assert len(locked) == 1
    assert (locked[0].username, locked[0].status) == (clinician.username, 429)
    for entry in signed_in + failed + locked:
        assert PASSWORD not in _text(entry)
        assert wrong not in _text(entry)
        assert entry.client == "127.0.0.1"
    # The site's admin reads them in the audit log like any other entry.
    async with api_client(database, as_user=world.users["admin"]) as admin:
        listed = (await admin.get("/api/v1/audit", params={"user_id": str(clinician.id)})).json()["items"]
    assert {e["action"] for e in listed} >= {"sign_in", "sign_in_failed", "sign_in_locked"}


async def test_refused_tokens_are_audited_without_the_token(database: Database) -> None:
    world = await build(database)
    user = world.users["coordinator"]
    expired = issue_token(
        user_id=user, role="coordinator", settings=SETTINGS.api, now=datetime.now(UTC) - timedelta(hours=2)
    )
    forged = jwt.encode({"sub": str(user)}, "another-secret-entirely-" * 2, algorithm="HS256")
    async with api_client(database, as_user=None) as client:
        for token in (expired, forged, "garbage"):
            response = await client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401
        assert (await client.get("/api/v1/patients")).status_code == 401
    refused = await _entries(database, "token_refused")
    reasons = [e.detail["reason"] if e.detail else "" for e in refused]
    assert len(refused) == 4
    assert "expired" in reasons[0]
    assert "signature" in reasons[1]
    assert reasons[3] == "no token"
    assert all(e.resource == "GET /api/v1/patients" and e.status == 401 for e in refused)
    for entry in refused:
        assert expired not in _text(entry)
        assert forged not in _text(entry)


async def test_a_flood_of_forged_tokens_is_bounded_and_counted(database: Database) -> None:
    async with api_client(database, as_user=None) as client:
        for n in range(45):
            await client.get("/api/v1/alerts", headers={"Authorization": f"Bearer forged-{n}"})
    assert len(await _entries(database, "token_refused")) == 30


def _patients(entry: dict[str, Any]) -> set[str]:
    return set(entry["patient_ids"] or [])


async def test_list_reads_record_the_patients_they_returned(database: Database) -> None:
    world = await build(database)
    coordinator = world.users["coordinator"]
    async with api_client(database, as_user=coordinator) as client:
        for path in ("/patients", "/alerts", f"/teams/{world.teams[0]}/triage"):
            assert (await client.get(f"/api/v1{path}")).status_code == 200
    async with api_client(database, as_user=world.users["admin"]) as admin:
        reads = (await admin.get("/api/v1/audit", params={"user_id": str(coordinator)})).json()["items"]
        about = (await admin.get("/api/v1/audit", params={"patient_id": str(world.patient)})).json()["items"]
    by_path = {e["resource"].split("?")[0]: e for e in reads}
    for path in ("/api/v1/patients", "/api/v1/alerts", f"/api/v1/teams/{world.teams[0]}/triage"):
        assert _patients(by_path[f"GET {path}"]) == {str(world.patient)}, path
    assert by_path["GET /api/v1/patients"]["detail"] == {"total": 1}
    # Asked about the patient, the log answers with the list reads that showed them too.
    assert {e["resource"] for e in about} >= {"GET /api/v1/patients", "GET /api/v1/alerts"}
    assert str(world.other_patient) not in str(reads)


async def test_a_coordinators_token_is_refused_after_deactivation(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["admin"]) as admin:
        done = await admin.patch(f"/api/v1/users/{world.users['coordinator']}", json={"active": False})
        self_lockout = await admin.patch(f"/api/v1/users/{world.users['admin']}", json={"active": False})
    assert (done.status_code, done.json()["active"]) == (200, False)
    assert self_lockout.status_code == 409
    async with api_client(database, as_user=None) as client:
        headers = {"Authorization": f"Bearer {token_for(world.users['coordinator'])}"}
        assert (await client.get("/api/v1/patients", headers=headers)).status_code == 401
    (refused,) = await _entries(database, "token_refused")
    assert refused.user_id == world.users["coordinator"]
