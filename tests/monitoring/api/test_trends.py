"""Downsampled trends against hand-computed buckets, and the PNG chart drawn from them."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest

from monitoring.domain import Condition
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.factories import enrol, heart_rates, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


async def test_a_trend_is_min_mean_max_per_bucket(database: Database) -> None:
    patient = await enrol(database)
    t0 = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    values = [60, 62, 64, 70, 80, 90, 66, 66, 65, 61]  # one a minute
    payload = readings_payload(patient.serial, 1, heart_rates(values, start=t0))
    await make_pipeline(database).process([inbound(patient.serial, payload)], Acks())
    params: dict[str, str | int] = {
        "series": "heart_rate",
        "start": t0.isoformat(),
        "end": (t0 + timedelta(minutes=15)).isoformat(),
        "points": 5,
    }
    async with api_client(database) as client:
        body = (await client.get(f"/api/v1/patients/{patient.patient_id}/trend", params=params)).json()
        too_long = await client.get(
            f"/api/v1/patients/{patient.patient_id}/trend",
            params={**params, "start": (t0 - timedelta(days=400)).isoformat()},
        )
    assert (body["bucket_seconds"], body["unit"], body["loinc"]) == (180, "/min", "8867-4")
    got = [(b["min"], round(b["mean"], 2), b["max"], b["count"]) for b in body["buckets"]]
    # 3-minute buckets from t0: [60 62 64] [70 80 90] [66 66 65] [61]; the fifth is empty and absent.
    assert got == [(60, 62.0, 64, 3), (70, 80.0, 90, 3), (65, 65.67, 66, 3), (61, 61.0, 61, 1)]
    assert body["buckets"][1]["start"] == (t0 + timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    assert too_long.status_code == 400


async def test_the_chart_is_a_png_with_the_alert_period(database: Database) -> None:
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE])
    t0 = datetime.now(UTC) - timedelta(hours=1)
    payload = readings_payload(patient.serial, 1, heart_rates([70, 38, 36, 35, 37, 36, 60], start=t0))
    await make_pipeline(database).process([inbound(patient.serial, payload)], Acks())
    path = f"/api/v1/patients/{patient.patient_id}/reports/chart.png"
    async with api_client(database) as client:
        chart = await client.get(path, params={"series": "heart_rate"})
        empty = await client.get(path, params={"series": "spo2"})
        unknown = await client.get(path, params={"series": "cholesterol"})
    assert chart.headers["content-type"] == "image/png"
    assert chart.content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", chart.content[16:24])
    assert (width, height) == (1000, 400)
    assert empty.status_code == 200
    assert chart.content != empty.content
    assert unknown.status_code == 422
