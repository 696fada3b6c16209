"""The vitals report (BP, weight, heart rate, SpO2, adherence) against a hand-computed case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.contract import Reading
from monitoring.domain import Condition
from monitoring.registry.service import register_device
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.factories import enrol, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


async def test_the_vitals_report_matches_the_hand_computed_case(database: Database) -> None:
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE], kind="bp_cuff")
    async with database.unit_of_work() as session:
        scale = await register_device(
            session=session, serial=f"{patient.serial}-scale", kind="scale", patient_id=patient.patient_id
        )
    base = (datetime.now(UTC) - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)

    def bp(day: int, hour: int, systolic: float, diastolic: float) -> Reading:
        at = base + timedelta(days=day, hours=hour)
        return Reading(metric="blood_pressure", unit="mm[Hg]", at=at, systolic=systolic, diastolic=diastolic)

    def weight(day: int, kg: float) -> Reading:
        return Reading(metric="body_weight", unit="kg", at=base + timedelta(days=day, hours=7), value=kg)

    # Mornings 140/90 and 150/94 -> 145/92; evenings 130/80 and 120/76 -> 125/78; mean 135/85:
    # home stage 2 (>= 135 systolic). Weight 80.0 (day 0), 80.6 (4), 81.9 (6), 82.4 (7): +0.5 in
    # a day, +1.8 in 3, +2.4 in 7. Readings on days 0, 4, 6, 7, 8 and 9: 6 of the last 30 days.
    pressures = [bp(8, 8, 140, 90), bp(8, 20, 130, 80), bp(9, 8, 150, 94), bp(9, 20, 120, 76)]
    weights = [weight(0, 80.0), weight(4, 80.6), weight(6, 81.9), weight(7, 82.4)]
    await make_pipeline(database).process(
        [
            inbound(patient.serial, readings_payload(patient.serial, 1, pressures)),
            inbound(scale.serial, readings_payload(scale.serial, 1, weights)),
        ],
        Acks(),
    )
    async with api_client(database) as client:
        body = (await client.get(f"/api/v1/patients/{patient.patient_id}/reports/vitals")).json()
    pressure = body["blood_pressure"]
    assert (pressure["morning_mean"], pressure["evening_mean"]) == ([145.0, 92.0], [125.0, 78.0])
    assert (pressure["systolic"]["mean"], pressure["diastolic"]["mean"]) == (135.0, 85.0)
    assert pressure["home_category"] == "stage 2"
    assert body["weight"] == {
        "unit": "kg",
        "latest": 82.4,
        "change_1d": 0.5,
        "change_3d": 1.8,
        "change_7d": 2.4,
    }
    assert body["adherence"] == {"days_with_readings": 6, "meets_16_day_rule": False}
    assert body["spo2"] == {"count": 0, "mean": None, "min": None, "max": None}
