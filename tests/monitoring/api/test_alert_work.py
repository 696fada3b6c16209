"""Working an alert: every transition from every status, and what each leaves behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from monitoring.alerts.lifecycle import FROM, Action
from monitoring.domain import AlertStatus
from monitoring.storage.db import Database
from monitoring.storage.models import Alert
from tests.api_support import api_client
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.integration

STATUSES = ("open", "acknowledged", "resolved", "dismissed")
# action -> expected status after it, from each of STATUSES (None: refused with 409).
EXPECTED: dict[str, tuple[str | None, ...]] = {
    "acknowledge": ("acknowledged", None, None, None),
    "resolve": ("resolved", "resolved", None, None),
    "dismiss": ("dismissed", "dismissed", None, None),
    "assign": ("open", "acknowledged", None, None),
    "snooze": ("open", "acknowledged", None, None),
    "comments": ("open", "acknowledged", "resolved", "dismissed"),
}


def _body(action: str, clinician: str) -> dict[str, Any]:
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    return {
        "acknowledge": {"note": "calling now"},
        "resolve": {"note": "spoke to the patient"},
        "dismiss": {"reason": "watch worn loose"},
        "assign": {"user_id": clinician},
        "snooze": {"until": until},
        "comments": {"text": "left a message"},
    }[action]


def test_the_table_matches_the_state_machine() -> None:
    for action in Action:
        path = "comments" if action is Action.COMMENT else action.value
        allowed = {STATUSES[i] for i, after in enumerate(EXPECTED[path]) if after is not None}
        assert allowed == {s.value for s in FROM[action]}, action


async def test_every_action_from_every_status(database: Database) -> None:
    world = await build(database)
    clinician = str(world.users["clinician"])
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        (alert,) = (await client.get("/api/v1/alerts", params={"patient_id": str(world.patient)})).json()[
            "items"
        ]
        for action, outcomes in EXPECTED.items():
            for start, after in zip(STATUSES, outcomes, strict=True):
                async with database.unit_of_work() as session:
                    await session.execute(update(Alert).where(Alert.id == alert["id"]).values(status=start))
                response = await client.post(
                    f"/api/v1/alerts/{alert['id']}/{action}", json=_body(action, clinician)
                )
                if after is None:
                    assert response.status_code == 409, (action, start)
                    assert f"that is {start}" in response.json()["error"]["message"]
                else:
                    assert response.status_code == 200, (action, start, response.text)
                    body = response.json()
                    assert body["status"] == after, (action, start)
                    last = body["events"][-1]
                    kind = "comment" if action == "comments" else action
                    assert (last["kind"], last["detail"]["from"]) == (kind, start)
                    assert last["actor"].startswith("coordinator-")


async def test_dismissing_needs_a_reason_and_keeps_it(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["clinician"]) as client:
        (alert,) = (await client.get("/api/v1/alerts", params={"patient_id": str(world.patient)})).json()[
            "items"
        ]
        path = f"/api/v1/alerts/{alert['id']}/dismiss"
        missing = await client.post(path, json={})
        done = (await client.post(path, json={"reason": "strap loose during a walk"})).json()
        summary = (await client.get("/api/v1/alerts/dismissals")).json()
    assert missing.status_code == 422
    assert (done["status"], done["dismissed_reason"]) == ("dismissed", "strap loose during a walk")
    assert done["resolved_at"] is not None
    assert summary == [{"alert_type": alert["alert_type"], "reason": "strap loose during a walk", "count": 1}]


async def test_assign_only_to_someone_in_the_patients_team(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        (alert,) = (await client.get("/api/v1/alerts", params={"patient_id": str(world.patient)})).json()[
            "items"
        ]
        path = f"/api/v1/alerts/{alert['id']}/assign"
        outsider = await client.post(path, json={"user_id": str(world.users["outsider"])})
        admin = await client.post(path, json={"user_id": str(world.users["admin"])})
        ok = await client.post(path, json={"user_id": str(world.users["clinician"])})
    assert (outsider.status_code, admin.status_code) == (400, 400)
    assert "care team" in outsider.json()["error"]["message"]
    assert ok.json()["assigned_to"] == str(world.users["clinician"])


async def test_the_queue_is_by_severity_then_age_and_hides_snoozed_alerts(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["admin"]) as admin:
        items = (await admin.get("/api/v1/alerts")).json()["items"]
    first, second = sorted(items, key=lambda a: a["opened_at"])
    async with database.unit_of_work() as session:  # make the newer one the more severe
        await session.execute(update(Alert).where(Alert.id == second["id"]).values(severity="critical"))
        await session.execute(update(Alert).where(Alert.id == first["id"]).values(severity="medium"))
    async with api_client(database, as_user=world.users["admin"]) as admin:
        queue = [a["id"] for a in (await admin.get("/api/v1/alerts", params={"queue": True})).json()["items"]]
    assert queue == [second["id"], first["id"]]
    mine = first if first["patient_id"] == str(world.patient) else second
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        snoozed = await client.post(f"/api/v1/alerts/{mine['id']}/snooze", json={"until": until})
        too_far = await client.post(
            f"/api/v1/alerts/{mine['id']}/snooze",
            json={"until": (datetime.now(UTC) + timedelta(days=30)).isoformat()},
        )
        queue_now = (await client.get("/api/v1/alerts", params={"queue": True})).json()["items"]
    assert snoozed.status_code == 200
    assert too_far.status_code == 400
    assert queue_now == []
    assert AlertStatus(snoozed.json()["status"]) is AlertStatus.OPEN


async def test_the_queue_filters_alerts_assigned_to_me_or_to_nobody(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        (alert,) = (await client.get("/api/v1/alerts", params={"patient_id": str(world.patient)})).json()[
            "items"
        ]
        before_mine = (await client.get("/api/v1/alerts", params={"queue": True, "assigned": "me"})).json()
        nobody = (await client.get("/api/v1/alerts", params={"queue": True, "assigned": "nobody"})).json()
        coordinator = str(world.users["coordinator"])
        assigned = await client.post(f"/api/v1/alerts/{alert['id']}/assign", json={"user_id": coordinator})
        mine = (await client.get("/api/v1/alerts", params={"queue": True, "assigned": "me"})).json()
        nobody_after = (
            await client.get("/api/v1/alerts", params={"queue": True, "assigned": "nobody"})
        ).json()
        wrong = await client.get("/api/v1/alerts", params={"assigned": "someone"})
    assert assigned.status_code == 200
    assert before_mine["items"] == []
    assert alert["id"] in [a["id"] for a in nobody["items"]]
    assert [a["id"] for a in mine["items"]] == [alert["id"]]
    assert mine["total"] == 1
    assert alert["id"] not in [a["id"] for a in nobody_after["items"]]
    assert wrong.status_code == 422
