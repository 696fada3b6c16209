"""The patient panel: what a coordinator sees per patient, searched, filtered, sorted and paged on
the server, from the stored glance (refreshed by its job) and live alerts and devices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.contract import Reading
from monitoring.domain import Condition
from monitoring.reports.glance import SPARK_SLOTS, refresh
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.factories import Enrolled, enrol, readings_payload
from tests.monitoring.api.access_world import World, build
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


async def _diabetic_with_cgm(database: Database, world: World) -> Enrolled:
    diabetic = await enrol(
        database, conditions=[Condition.TYPE2_DIABETES], kind="cgm", care_team_id=world.teams[0]
    )
    start = datetime.now(UTC) - timedelta(hours=10)
    values = [50, 100, 65, 100, 120, 200, 140, 260, 150, 110]  # TIR 60 %, below 70 20 %, above 250 10 %
    cgm = [
        Reading(metric="glucose_cgm", unit="mg/dL", at=start + timedelta(hours=i), value=v)
        for i, v in enumerate(values)
    ]
    await make_pipeline(database).process(
        [inbound(diabetic.serial, readings_payload(diabetic.serial, 1, cgm))], Acks()
    )
    return diabetic


async def _panel(database: Database, world: World, who: str = "coordinator", **params: str | int) -> Any:
    async with api_client(database, as_user=world.users[who]) as client:
        response = await client.get("/api/v1/panel", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_row_shows_the_patients_glance_and_each_devices_newest_reading(database: Database) -> None:
    world = await build(database)
    diabetic = await _diabetic_with_cgm(database, world)
    before = await _panel(database, world)
    (row,) = [r for r in before["items"] if r["patient_id"] == str(diabetic.patient_id)]
    assert row["glance_computed_at"] is None, "not computed until the job runs"
    assert row["time_in_range"] is None
    (cgm,) = row["devices"]
    assert [(r["series"], r["value"], r["unit"]) for r in cgm["latest"]] == [("glucose_cgm", 110.0, "mg/dL")]
    assert row["last_reading_at"] is not None

    async with database.unit_of_work() as session:
        assert await refresh(session=session, now=datetime.now(UTC)) >= 3
    after = await _panel(database, world)
    (row,) = [r for r in after["items"] if r["patient_id"] == str(diabetic.patient_id)]
    assert (row["time_in_range"], row["time_below_70"], row["time_below_54"], row["time_above_250"]) == (
        60.0,
        20.0,
        10.0,
        10.0,
    )
    # Enrolled just now: only today counts (readings from the hours before midnight came before
    # the enrolment's date), and only if the last reading (an hour ago) was today.
    now = datetime.now(UTC)
    assert row["adherence_days"] == ((now - timedelta(hours=1)).date() == now.date())
    assert row["monitored_days"] == 1
    spark = row["spark"]
    assert spark["series"] == "glucose_cgm"
    assert len(spark["values"]) == SPARK_SLOTS
    drawn = [v for v in spark["values"] if v is not None]
    assert 2 <= len(drawn) <= 3
    assert min(drawn) >= 50
    assert max(drawn) <= 260
    assert "time below 70 mg/dL > 4 %" in row["flags"]


async def test_readings_uploaded_from_before_enrolment_never_count_more_days_than_monitored(
    database: Database,
) -> None:
    world = await build(database)
    patient = await enrol(database, kind="bp_cuff", care_team_id=world.teams[0], time_zone="Asia/Tokyo")
    now = datetime.now(UTC)
    stored = [  # today's, and what the cuff kept from the week before it was given to the patient
        Reading(
            metric="blood_pressure", unit="mm[Hg]", at=now - timedelta(days=d), systolic=130, diastolic=80
        )
        for d in range(7)
    ]
    await make_pipeline(database).process(
        [inbound(patient.serial, readings_payload(patient.serial, 1, stored))], Acks()
    )
    async with database.unit_of_work() as session:
        await refresh(session=session, now=datetime.now(UTC))
    body = await _panel(database, world, limit=100)
    (row,) = [r for r in body["items"] if r["patient_id"] == str(patient.patient_id)]
    assert row["monitored_days"] == 1
    assert row["adherence_days"] == 1, "today's reading counts; the week before enrolment does not"
    assert not any(f.startswith("readings on") for f in row["flags"]), "nobody is judged on their first day"


async def test_search_filters_sort_and_paging_work_over_the_callers_patients_only(database: Database) -> None:
    world = await build(database)
    diabetic = await _diabetic_with_cgm(database, world)
    extra = [await enrol(database, care_team_id=world.teams[0]) for _ in range(4)]
    async with database.unit_of_work() as session:
        await refresh(session=session, now=datetime.now(UTC))
    everyone = await _panel(database, world, limit=100)
    mine = {r["patient_id"] for r in everyone["items"]}
    assert str(world.other_patient) not in mine, "a patient of another team never shows"
    assert mine == {str(world.patient), str(diabetic.patient_id), *(str(e.patient_id) for e in extra)}
    assert everyone["total"] == len(mine)
    risks = [r["risk"] for r in everyone["items"]]
    assert risks == sorted(risks, reverse=True)

    pages = [await _panel(database, world, limit=2, offset=offset, sort="name") for offset in (0, 2, 4)]
    paged = [r["patient_id"] for p in pages for r in p["items"]]
    assert len(paged) == len(set(paged)) == len(mine)
    assert all(p["total"] == len(mine) for p in pages)
    names = [r["display_name"].casefold() for p in pages for r in p["items"]]
    assert names == sorted(names)

    rows = {r["patient_id"]: r for r in everyone["items"]}
    name = rows[str(extra[2].patient_id)]["display_name"]
    by_name = await _panel(database, world, q=name.upper())
    assert str(extra[2].patient_id) in {r["patient_id"] for r in by_name["items"]}
    assert all(name.casefold() in r["display_name"].casefold() for r in by_name["items"])
    mrn = rows[str(diabetic.patient_id)]["mrn"]
    found = await _panel(database, world, q=mrn.lower())
    assert [r["patient_id"] for r in found["items"]] == [str(diabetic.patient_id)]

    diabetics = await _panel(database, world, condition="type2_diabetes")
    assert [r["patient_id"] for r in diabetics["items"]] == [str(diabetic.patient_id)]
    low = await _panel(database, world, flag="low_glucose")
    assert [r["patient_id"] for r in low["items"]] == [str(diabetic.patient_id)]
    alerted = await _panel(database, world, alerts="high")
    assert str(world.patient) in {r["patient_id"] for r in alerted["items"]}
    quiet = await _panel(database, world, alerts="none", limit=100)
    assert str(world.patient) not in {r["patient_id"] for r in quiet["items"]}
    by_tir = await _panel(database, world, sort="time_in_range", limit=100)
    assert by_tir["items"][0]["patient_id"] == str(diabetic.patient_id), "lowest TIR first, no CGM last"


async def test_bad_filters_get_a_specific_error(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        response = await client.get("/api/v1/panel", params={"sort": "shoe_size"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["location"] == "query.sort"
