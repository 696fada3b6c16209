"""The panel ranks and filters in SQL by triage's rules, and words the page's flags in Python: the
two must agree on every patient, or a coordinator filtering by a flag misses someone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import update

from monitoring.reports import glance_repository
from monitoring.reports.panel import panel
from monitoring.reports.panel_repository import panel_page
from monitoring.reports.records import Glance, PanelQuery, SortKey
from monitoring.storage.db import Database
from monitoring.storage.models import Device, Patient
from tests.api_support import api_client
from tests.factories import enrol
from tests.monitoring.api.access_world import World, build

pytestmark = pytest.mark.integration

# name -> (days since enrolment, glance or None, device silent for, the flags' starts it must show)
CASES: dict[str, tuple[int, Glance | None, timedelta, set[str]]] = {
    "low": (
        20,
        Glance(time_in_range=60.0, time_below_70=5.0, time_below_54=0.5, adherence_days=20),
        timedelta(0),
        {"time below 70"},
    ),
    "very low": (
        20,
        Glance(time_in_range=70.0, time_below_70=3.0, time_below_54=2.0, adherence_days=20),
        timedelta(0),
        {"time below 54"},
    ),
    "dropping": (
        40,
        Glance(time_in_range=50.0, previous_time_in_range=70.0, adherence_days=30),
        timedelta(0),
        {"time in range down"},
    ),
    "steady": (
        40,
        Glance(time_in_range=60.0, previous_time_in_range=75.0, adherence_days=30),
        timedelta(0),
        set(),
    ),
    "sparse": (22, Glance(adherence_days=11), timedelta(0), {"readings on"}),  # 12 needed in 22 days
    "enough": (22, Glance(adherence_days=12), timedelta(0), set()),
    "silent": (30, Glance(adherence_days=30), timedelta(days=3), {"device offline"}),
    "no glance yet": (3, None, timedelta(0), {"readings on"}),
    "new": (0, None, timedelta(0), set()),
}
FILTERS = {
    "low_glucose": ("time below 70", "time below 54"),
    "time_in_range_drop": ("time in range down",),
    "adherence": ("readings on",),
    "device_offline": ("device offline",),
}


async def _world_of_flags(database: Database) -> tuple[World, dict[UUID, str]]:
    world = await build(database)
    now = datetime.now(UTC)
    names: dict[UUID, str] = {}
    glances: dict[UUID, Glance] = {}
    async with database.unit_of_work() as session:
        await session.execute(update(Patient).values(enrolled_at=now - timedelta(days=40)))
        await session.execute(update(Device).values(last_seen_at=now))
    for name, (days, glance, silent, _) in CASES.items():
        enrolled = await enrol(database, care_team_id=world.teams[0])
        names[enrolled.patient_id] = name
        async with database.unit_of_work() as session:
            at = now - timedelta(days=days, minutes=5)
            await session.execute(
                update(Patient).where(Patient.id == enrolled.patient_id).values(enrolled_at=at)
            )
            await session.execute(
                update(Device).where(Device.id == enrolled.device_id).values(last_seen_at=now - silent)
            )
            if glance is not None:
                glances[enrolled.patient_id] = glance
    async with database.unit_of_work() as session:
        await glance_repository.store(session=session, glances=glances, at=now)
    return world, names


async def _ids(client: Any, **params: str | int) -> list[str]:
    response = await client.get("/api/v1/panel", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return [r["patient_id"] for r in body["items"]]


async def test_every_flag_filter_finds_exactly_the_patients_whose_flags_say_so(database: Database) -> None:
    world, names = await _world_of_flags(database)
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        response = await client.get("/api/v1/panel", params={"limit": 100})
        rows = {r["patient_id"]: r for r in response.json()["items"]}
        for patient_id, name in names.items():
            shown = {
                start
                for start in CASES[name][3]
                if any(f.startswith(start) for f in rows[str(patient_id)]["flags"])
            }
            assert shown == CASES[name][3], (name, rows[str(patient_id)]["flags"])
            assert len(rows[str(patient_id)]["flags"]) == len(CASES[name][3]), (
                name,
                rows[str(patient_id)]["flags"],
            )
        for wanted, starts in FILTERS.items():
            expected = {pid for pid, r in rows.items() if any(f.startswith(starts) for f in r["flags"])}
            assert set(await _ids(client, flag=wanted)) == expected, wanted
            assert expected, f"the cases exercise {wanted}"
        assert set(await _ids(client, flag="any")) == {pid for pid, r in rows.items() if r["flags"]}
        assert set(await _ids(client, flag="none")) == {pid for pid, r in rows.items() if not r["flags"]}
        alerted = {pid for pid, r in rows.items() if any(r["open_alerts"].values())}
        assert alerted == {str(world.patient)}
        assert set(await _ids(client, alerts="any")) == alerted
        assert set(await _ids(client, alerts="none")) == set(rows) - alerted


@pytest.mark.parametrize("sort", ["risk", "name", "last_reading", "time_in_range", "adherence"])
async def test_each_sort_agrees_with_the_rows_and_reverse_turns_it_round(
    database: Database, sort: SortKey
) -> None:
    world, _ = await _world_of_flags(database)
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        forward = await _ids(client, sort=sort)
        backward = await _ids(client, sort=sort, reverse="true")
        response = await client.get("/api/v1/panel", params={"limit": 100, "sort": sort})
    assert backward == forward[::-1]
    rows = response.json()["items"]
    name = [r["display_name"].casefold() for r in rows]
    match sort:
        case "risk":
            keys: list[tuple[Any, ...]] = [(-r["risk"], n) for r, n in zip(rows, name, strict=True)]
        case "name":
            keys = [(n,) for n in name]
        case "last_reading":
            keys = [
                (r["last_reading_at"] is not None, r["last_reading_at"] or "", n)
                for r, n in zip(rows, name, strict=True)
            ]
        case "time_in_range":
            keys = [
                (r["time_in_range"] is None, r["time_in_range"] or 0, n)
                for r, n in zip(rows, name, strict=True)
            ]
        case "adherence":
            keys = [(r["adherence_days"], n) for r, n in zip(rows, name, strict=True)]
    assert keys == sorted(keys), sort


async def test_the_risk_ranked_in_sql_is_the_risk_triage_words(database: Database) -> None:
    world, names = await _world_of_flags(database)
    now = datetime.now(UTC)
    scope = Patient.care_team_id == world.teams[0]
    async with database.unit_of_work() as session:
        facts, total = await panel_page(
            session=session, scope=scope, query=PanelQuery(), now=now, limit=100, offset=0
        )
        rows, _ = await panel(session=session, scope=scope, query=PanelQuery(), now=now, limit=100, offset=0)
        past_the_end = await panel_page(
            session=session, scope=scope, query=PanelQuery(), now=now, limit=10, offset=500
        )
    assert total == len(names) + 1 == len(facts)
    assert {f.patient.id: f.risk for f in facts} == {r.patient.id: r.triage.risk for r in rows}
    assert past_the_end == ([], total)
