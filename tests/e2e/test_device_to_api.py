"""A device publishes over the real broker; the care team reads the result through the API."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from monitoring.domain import Condition
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.e2e.support import Broker, eventually, ingestion, stored_readings
from tests.factories import enrol, heart_rates

pytestmark = pytest.mark.e2e


async def test_readings_alert_and_dead_letter_flow_from_device_to_api(
    database: Database, broker: Broker
) -> None:
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE])
    async with ingestion(database, broker) as service:
        device = broker.device(patient.serial)
        try:
            # Normal readings, then a malformed message, then a sustained bradycardia.
            now = datetime.now(UTC)
            device.record(heart_rates([72, 74, 73], start=now - timedelta(minutes=30), step_s=60))
            device.record_raw(b'{"v": 1, "device_id": "truncated...')
            bradycardia = heart_rates([38, 36, 35, 37, 36], start=now - timedelta(minutes=10), step_s=5)
            device.record(bradycardia)
            assert await asyncio.to_thread(device.flush, 10)
            await eventually(lambda: _at_least(database, 8), what="8 readings stored")
            await eventually(lambda: service.stats.dead_letters >= 1, what="the dead letter")
        finally:
            await asyncio.to_thread(device.stop)
            device.close()

    async with api_client(database) as client:
        readings = (
            await client.get(
                f"/api/v1/patients/{patient.patient_id}/readings",
                params={"series": "heart_rate"},
            )
        ).json()
        alerts = (await client.get("/api/v1/alerts", params={"patient_id": str(patient.patient_id)})).json()
        letters = (await client.get("/api/v1/dead-letters", params={"device_serial": patient.serial})).json()
        detail = (await client.get(f"/api/v1/patients/{patient.patient_id}")).json()

    assert sorted(p["value"] for p in readings["points"]) == sorted([72, 74, 73, 38, 36, 35, 37, 36])
    assert alerts["total"] == 1
    (alert,) = alerts["items"]
    assert (alert["alert_type"], alert["status"], alert["severity"]) == (
        "threshold.heart_rate.low",
        "open",
        "high",
    )
    explanation = alert["explanation"]
    assert explanation["threshold"]["limit"] == 45
    assert [o["value"] for o in explanation["observed"]] == [38, 36, 35, 37, 36]
    assert explanation["window"]["start"] == bradycardia[0].at.isoformat()
    assert "45 /min" in alert["summary"]
    (letter,) = letters["items"]
    assert letter["code"] == "malformed_json"
    assert letter["payload_excerpt"].startswith('{"v": 1')
    (device_row,) = detail["devices"]
    assert device_row["last_seen_at"] is not None
    assert device_row["firmware"] == "1.0.0"


async def test_retained_status_reports_presence_and_the_last_will(database: Database, broker: Broker) -> None:
    patient = await enrol(database)
    async with ingestion(database, broker):
        device = broker.device(patient.serial)
        await eventually(lambda: _online(database, patient.patient_id, True), what="device online")
        await asyncio.to_thread(device.stop)
        device.close()
        await eventually(lambda: _online(database, patient.patient_id, False), what="device offline")


async def _at_least(database: Database, n: int) -> bool:
    return await stored_readings(database) >= n


async def _online(database: Database, patient_id: object, expected: bool) -> bool:
    async with api_client(database) as client:
        detail = (await client.get(f"/api/v1/patients/{patient_id}")).json()
    return bool(detail["devices"][0]["online"] is expected)
