"""The queue for a real team: names on every row, filters by type, what the filters can offer,
and bulk work where each alert succeeds or fails on its own."""

from __future__ import annotations

import pytest

from monitoring.storage.db import Database
from tests import factories
from tests.api_support import api_client
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.integration


async def test_bulk_acknowledge_reports_each_alert_and_touches_only_what_it_may(database: Database) -> None:
    world = await build(database)
    mine = [await factories.alert(database, world.patient, prefix="bulk") for _ in range(3)]
    theirs = await factories.alert(database, world.other_patient, prefix="bulk")
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        first = await client.post(f"/api/v1/alerts/{mine[2]}/resolve", json={})
        assert first.status_code == 200
        answer = await client.post(
            "/api/v1/alerts/bulk",
            json={"alert_ids": [*map(str, mine), str(theirs), str(mine[0])], "action": "acknowledge"},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        by_id = {r["alert_id"]: r for r in body["results"]}
        assert [r["alert_id"] for r in body["results"]] == [*map(str, mine), str(theirs)], (
            "each once, in order"
        )
        assert (body["done"], body["failed"]) == (2, 2)
        assert by_id[str(mine[0])]["status"] == "acknowledged"
        assert by_id[str(mine[2])]["error"]["code"] == "conflict", "a resolved alert cannot be acknowledged"
        assert by_id[str(theirs)]["error"]["code"] == "not_found", "another team's alert is out of reach"
        states = {str(a): (await client.get(f"/api/v1/alerts/{a}")).json()["status"] for a in mine}
        assert states == {
            str(mine[0]): "acknowledged",
            str(mine[1]): "acknowledged",
            str(mine[2]): "resolved",
        }

    async with api_client(database, as_user=world.users["outsider"]) as client:
        untouched = (await client.get(f"/api/v1/alerts/{theirs}")).json()
    assert untouched["status"] == "open"


async def test_bulk_assign_names_the_assignee_and_refuses_an_outsider(database: Database) -> None:
    world = await build(database)
    alerts = [await factories.alert(database, world.patient, prefix="assign") for _ in range(2)]
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        ok = await client.post(
            "/api/v1/alerts/bulk",
            json={
                "alert_ids": [str(a) for a in alerts],
                "action": "assign",
                "user_id": str(world.users["clinician"]),
            },
        )
        assert ok.json()["done"] == 2
        refused = await client.post(
            "/api/v1/alerts/bulk",
            json={"alert_ids": [str(alerts[0])], "action": "assign", "user_id": str(world.users["outsider"])},
        )
        assert refused.json()["results"][0]["error"]["code"] == "invalid_request"
        page = (await client.get("/api/v1/alerts", params={"queue": "true", "alert_type": "x"})).json()
        assert page["total"] == 0
        detail = (await client.get(f"/api/v1/alerts/{alerts[0]}")).json()
    assert detail["assigned_to"] == str(world.users["clinician"])
    assert detail["assigned_to_name"]
    assert detail["patient_name"].startswith("Patient")
    assert [e["kind"] for e in detail["events"]].count("assign") == 1


async def test_type_filter_and_facets_describe_the_callers_queue(database: Database) -> None:
    world = await build(database)
    low = await factories.alert(database, world.patient, prefix="glucose", severity="critical")
    await factories.alert(database, world.other_patient, prefix="glucose", severity="critical")
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        low_type = (await client.get(f"/api/v1/alerts/{low}")).json()["alert_type"]
        page = (await client.get("/api/v1/alerts", params={"queue": "true", "alert_type": low_type})).json()
        facets = (await client.get("/api/v1/alerts/facets")).json()
    assert [a["id"] for a in page["items"]] == [str(low)]
    assert page["items"][0]["patient_name"]
    assert facets["alert_type"][low_type] == 1
    assert facets["total"] == sum(facets["severity"].values()) == sum(facets["alert_type"].values())
    assert facets["severity"]["critical"] == 1, "the other team's critical alert is not counted"


async def test_bulk_needs_alerts_and_a_known_action(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        empty = await client.post("/api/v1/alerts/bulk", json={"alert_ids": [], "action": "acknowledge"})
        odd = await client.post(
            "/api/v1/alerts/bulk", json={"alert_ids": [str(world.patient)], "action": "delete"}
        )
    assert empty.status_code == odd.status_code == 422
    async with api_client(database, as_user=world.users["admin"]) as client:
        admin = await client.post(
            "/api/v1/alerts/bulk", json={"alert_ids": [str(world.patient)], "action": "resolve"}
        )
    assert admin.status_code == 403
