"""Clinicians' reports against hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devices.contract import Reading
from monitoring.domain import Condition
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.factories import enrol, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration

# One CGM reading every 5 minutes. By hand: <54: 50; 54-69: 60, 65; 70-180: 100, 120, 180;
# 181-250: 181, 250; >250: 251, 300. Mean 1557 / 10 = 155.7; GMI 3.31 + 0.02392 x 155.7 = 7.03;
# sample SD 90.04, so CV 57.8 %. Median (120 + 180) / 2 = 150; 5th percentile 50 + 0.45 x 10 = 54.5.
VALUES = [50, 60, 65, 100, 120, 180, 181, 250, 251, 300]


async def test_the_glucose_report_matches_the_hand_computed_case(database: Database) -> None:
    patient = await enrol(database, conditions=[Condition.TYPE1_DIABETES], kind="cgm")
    t0 = (datetime.now(UTC) - timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    readings = [
        Reading(metric="glucose_cgm", unit="mg/dL", at=t0 + timedelta(minutes=5 * i), value=v)
        for i, v in enumerate(VALUES)
    ]
    await make_pipeline(database).process(
        [inbound(patient.serial, readings_payload(patient.serial, 1, readings))], Acks()
    )
    params = {
        "start": t0.isoformat(),
        "end": (t0 + timedelta(minutes=50)).isoformat(),
        "tz": "America/New_York",
    }
    path = f"/api/v1/patients/{patient.patient_id}/reports/glucose"
    async with api_client(database) as client:
        body = (await client.get(path, params=params)).json()
        bad_zone = await client.get(path, params={**params, "tz": "Mars/Olympus"})
    assert body["series"] == "glucose_cgm"
    assert [r["percent"] for r in body["time_in_ranges"]] == [10.0, 20.0, 30.0, 20.0, 20.0]
    assert (body["mean"], body["gmi_percent"], body["cv_percent"]) == (155.7, 7.0, 57.8)
    (hour,) = [h for h in body["agp"] if h["count"]]
    assert hour["hour"] == t0.astimezone(ZoneInfo("America/New_York")).hour  # 9 in winter, 10 in summer
    assert (hour["percentiles"]["50"], hour["percentiles"]["5"]) == (150.0, 54.5)
    assert body["sufficiency"] == {
        "days_with_data": 1,
        "readings": 10,
        "expected": 10,
        "percent_expected": 100.0,
        "sufficient": False,
    }
    assert bad_zone.status_code == 400
