"""A team's triage list: flags computed from readings, alerts and devices, riskiest patient first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from devices.contract import Reading
from monitoring.domain import Condition
from monitoring.registry.service import register_device
from monitoring.storage.db import Database
from monitoring.storage.models import Device, Patient
from tests.api_support import api_client
from tests.factories import enrol, readings_payload
from tests.monitoring.api.access_world import build
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


def _ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def _cgm(start: datetime, values: list[float]) -> list[Reading]:
    return [
        Reading(metric="glucose_cgm", unit="mg/dL", at=start + timedelta(minutes=30 * i), value=v)
        for i, v in enumerate(values)
    ]


async def test_the_triage_list_flags_and_orders_the_teams_patients(database: Database) -> None:
    world = await build(database)
    team_a = world.teams[0]
    diabetic = await enrol(database, conditions=[Condition.TYPE1_DIABETES], kind="cgm", care_team_id=team_a)
    async with database.unit_of_work() as session:
        await register_device(
            session=session, serial="never-heard-scale", kind="scale", patient_id=diabetic.patient_id
        )
        # Enrolled 25 days ago; the scale was set up two days ago and has never been heard from.
        await session.execute(
            update(Patient).where(Patient.id == diabetic.patient_id).values(enrolled_at=_ago(days=25))
        )
        await session.execute(
            update(Device).where(Device.serial == "never-heard-scale").values(created_at=_ago(days=2))
        )
    today = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)  # one day each
    # Last 14 days: 10 readings, 2 below 70 (one of them below 54), 6 in range: TIR 60 %, below 70
    # 20 %, below 54 10 %. The 14 days before: 10 readings all in range, TIR 100 %: a 40-point drop.
    recent = _cgm(today - timedelta(days=2), [50, 100, 65, 100, 120, 200, 140, 260, 150, 110])
    before = _cgm(today - timedelta(days=20), [100, 110, 120, 130, 140, 150, 120, 110, 100, 105])
    await make_pipeline(database).process(
        [
            inbound(diabetic.serial, readings_payload(diabetic.serial, 1, before)),
            inbound(diabetic.serial, readings_payload(diabetic.serial, 2, recent)),
        ],
        Acks(),
    )
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        rows = (await client.get(f"/api/v1/teams/{team_a}/triage")).json()
    assert {r["patient_id"] for r in rows} == {str(world.patient), str(diabetic.patient_id)}
    assert [r["risk"] for r in rows] == sorted((r["risk"] for r in rows), reverse=True)
    weights = {"critical": 100, "high": 30, "medium": 10, "low": 3}
    for row in rows:
        alerts = sum(weights[s] * n for s, n in row["open_alerts"].items())
        assert row["risk"] == alerts + 20 * len(row["flags"])
    (sugar,) = [r for r in rows if r["patient_id"] == str(diabetic.patient_id)]
    assert (sugar["time_below_70"], sugar["time_below_54"], sugar["time_in_range"]) == (20.0, 10.0, 60.0)
    assert sugar["previous_time_in_range"] == 100.0
    assert sugar["adherence_days"] == 2
    assert sugar["monitored_days"] == 26  # 25 days and some hours since enrolment touch 26 dates
    assert sugar["flags"][:4] == [
        "time below 70 mg/dL > 4 %",
        "time below 54 mg/dL > 1 %",
        "time in range down > 15 points",
        "readings on 2 of 26 days (14 needed: 16 in 30)",
    ]
    assert sugar["devices_offline"] == ["scale never-heard-scale"]
    (heart,) = [r for r in rows if r["patient_id"] == str(world.patient)]
    assert heart["open_alerts"] == {"high": 1}


async def test_a_new_enrolee_with_a_twice_daily_cuff_is_not_flagged(database: Database) -> None:
    world = await build(database)
    fresh = await enrol(
        database, conditions=[Condition.HYPERTENSION], kind="bp_cuff", care_team_id=world.teams[0]
    )
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        rows = (await client.get(f"/api/v1/teams/{world.teams[0]}/triage")).json()
    (row,) = [r for r in rows if r["patient_id"] == str(fresh.patient_id)]
    assert row["monitored_days"] == 1  # today
    assert row["flags"] == [], "no adherence flag on the first day, no offline cuff an hour after set-up"
    assert row["devices_offline"] == []
