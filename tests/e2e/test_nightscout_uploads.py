"""Nightscout uploaders feed the system as their CGM: the real broker, ingestion and API, a real client.

Entries posted in xDrip+'s and AndroidAPS's shapes are handed to the broker as the device,
stored once by ingestion, and read back with py-nightscout (the library Home Assistant's
Nightscout integration uses). A re-upload stores nothing; a hypoglycaemia uploaded this way
raises the same alerts, with the same evidence, as the same readings from an MQTT device.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import httpx
import pytest
from py_nightscout import Api
from sqlalchemy import func, select

from devices.contract import Reading as WireReading
from monitoring.catalogue import Series
from monitoring.detection.lineup import default_detectors
from monitoring.domain import Condition
from monitoring.nightscout.gateway import ReadingsGateway
from monitoring.storage.db import Database
from monitoring.storage.models import DeadLetter, Reading
from tests.api_support import api_client, serving
from tests.e2e.nightscout_payloads import (
    aaps_bolus,
    aaps_device_status,
    aaps_sgv,
    xdrip_entries,
    xdrip_treatment,
)
from tests.e2e.support import Broker, eventually, ingestion
from tests.factories import Enrolled, enrol

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def _gateway(broker: Broker) -> AsyncIterator[ReadingsGateway]:
    gateway = ReadingsGateway(broker.mqtt_settings(), client_id=f"{broker.client_id}-ns")
    await gateway.start()
    try:
        await eventually(gateway.connected.is_set, timeout_s=10, what="the gateway to connect")
        yield gateway
    finally:
        await gateway.stop()


async def _register(database: Database, device_id: UUID) -> dict[str, Any]:
    async with api_client(database) as admin:
        answer = await admin.post(f"/api/v1/devices/{device_id}/nightscout")
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _stored(database: Database, patient: Enrolled, series: Series | None = None) -> int:
    query = select(func.count()).select_from(Reading).where(Reading.patient_id == patient.patient_id)
    if series is not None:
        query = query.where(Reading.series == int(series))
    async with database.sessions() as session:
        return int(await session.scalar(query) or 0)


async def test_xdrip_and_androidaps_uploads_are_stored_once_and_read_back_by_a_nightscout_client(
    database: Database, broker: Broker
) -> None:
    patient = await enrol(database, conditions=[Condition.TYPE1_DIABETES], kind="cgm")
    credentials = await _register(database, patient.device_id)
    secret_sha1 = hashlib.sha1(credentials["api_secret"].encode()).hexdigest()
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    xdrip = xdrip_entries([120, 118, 115, 111, 108, 104], end - timedelta(minutes=30), calibration=112)
    aaps = [aaps_sgv(100.0 - 10 * i, end - timedelta(minutes=15 - 5 * i)) for i in range(3)]

    async with (
        _gateway(broker) as gateway,
        ingestion(database, broker),
        serving(database, gateway=gateway) as host,
    ):
        base = f"http://{host}/ns/{patient.serial}"
        assert credentials["base_url"] == f"http://testserver/ns/{patient.serial}/"  # as the admin reached it
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            posted = await http.post("/api/v1/entries", json=xdrip, headers={"api-secret": secret_sha1})
            assert posted.status_code == 200, posted.text
            assert [e["type"] for e in posted.json()] == ["sgv"] * 6 + ["mbg", "cal"]
            for entry in aaps:  # AndroidAPS sends one document at a time, here with the token
                one = await http.post(
                    "/api/v1/entries.json", json=entry, params={"token": credentials["token"]}
                )
                assert one.status_code == 200, one.text
            treatment = xdrip_treatment(end - timedelta(minutes=40), carbs=45)
            assert (
                await http.put("/api/v1/treatments", json=treatment, headers={"api-secret": secret_sha1})
            ).is_success
            bolus = aaps_bolus(end - timedelta(minutes=35), units=1.5)
            assert (
                await http.post("/api/v1/treatments", json=[bolus], headers={"api-secret": secret_sha1})
            ).is_success
            status_doc = aaps_device_status(end, battery=64)
            assert (
                await http.post("/api/v1/devicestatus", json=status_doc, headers={"api-secret": secret_sha1})
            ).is_success

            await eventually(lambda: _has(database, patient, 10), what="9 CGM and 1 meter reading stored")
            assert await _stored(database, patient, Series.GLUCOSE_METER) == 1

            # py-nightscout, as its users call it: the secret in clear, hashed by the library.
            client = Api(base, api_secret=credentials["api_secret"])
            sgvs = await client.get_sgvs()
            sent = [(int(e["sgv"]), e["date"]) for e in xdrip if e["type"] == "sgv"]
            sent += [(int(e["sgv"]), e["date"]) for e in aaps]
            got = [(s.sgv, round(s.date.timestamp() * 1000)) for s in sgvs]
            assert got == sorted(sent, key=lambda v: v[1], reverse=True)  # newest first, all nine
            assert (sgvs[0].direction, sgvs[0].delta) == ("FortyFiveDown", -10.0)  # 10 mg/dL in 5 min
            assert sgvs[-1].direction == "NOT COMPUTABLE"  # nothing stored before the first
            status = await client.get_server_status()
            assert (status.status, status.apiEnabled, status.settings["units"]) == ("ok", True, "mg/dl")
            treatments = await client.get_treatments()
            assert sorted(t.eventType for t in treatments) == ["Carbs", "Correction Bolus"]
            assert {t.eventType: t.carbs or t.insulin for t in treatments} == {
                "Carbs": 45,
                "Correction Bolus": 1.5,
            }
            (device_status,) = await client.get_devices_status()
            assert device_status.device == "openaps://samsung SM-G970F"
            assert device_status.openaps["iob"]["iob"] == 1.2

            # The query forms uploaders use, and the other entry types.
            meter = (
                await http.get("/api/v1/entries/mbg.json", params={"token": credentials["token"]})
            ).json()
            assert [(e["mbg"], e["date"]) for e in meter] == [(112, xdrip[6]["date"])]
            since = {"find[date][$gte]": str(aaps[0]["date"]), "count": "2", "token": credentials["token"]}
            recent = (await http.get("/api/v1/entries.json", params=since)).json()
            assert [e["sgv"] for e in recent] == [80, 90]
            current = (
                await http.get("/api/v1/entries/current.json", params={"token": credentials["token"]})
            ).json()
            assert [e["sgv"] for e in current] == [80]

            # A re-upload stores nothing: the same array and treatment again, then one new reading.
            again = await http.post("/api/v1/entries", json=xdrip, headers={"api-secret": secret_sha1})
            assert again.status_code == 200
            await http.put("/api/v1/treatments", json=treatment, headers={"api-secret": secret_sha1})
            marker = aaps_sgv(75.0, end)
            await http.post("/api/v1/entries", json=marker, headers={"api-secret": secret_sha1})
            await eventually(lambda: _has(database, patient, 11), what="the new reading stored")
            await asyncio.sleep(0.5)
            assert await _stored(database, patient) == 11
            assert len(await client.get_treatments()) == 2
    async with database.sessions() as session:
        letters = await session.scalar(
            select(func.count()).select_from(DeadLetter).where(DeadLetter.device_serial == patient.serial)
        )
    assert letters == 0


async def _has(database: Database, patient: Enrolled, n: int) -> bool:
    return await _stored(database, patient) >= n


FALL = [120, 113, 106, 99, 92, 85, 78, 72, 67, 63, 60, 58, 56, 55, 55, 56, 58, 60, 62, 64]


async def test_a_hypoglycaemia_uploaded_through_nightscout_raises_the_alerts_mqtt_readings_raise(
    database: Database, broker: Broker
) -> None:
    by_upload = await enrol(database, conditions=[Condition.TYPE1_DIABETES], kind="cgm")
    by_mqtt = await enrol(database, conditions=[Condition.TYPE1_DIABETES], kind="cgm")
    credentials = await _register(database, by_upload.device_id)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5 * len(FALL))
    times = [start + timedelta(minutes=5 * i) for i in range(len(FALL))]

    async with (
        _gateway(broker) as gateway,
        ingestion(database, broker, detectors=default_detectors()),
        serving(database, gateway=gateway) as host,
    ):
        device = broker.device(by_mqtt.serial, kind="cgm")
        try:
            device.record(
                [
                    WireReading(metric="glucose_cgm", unit="mg/dL", at=at, value=v)
                    for at, v in zip(times, FALL, strict=True)
                ]
            )
            assert await asyncio.to_thread(device.flush, 10)
        finally:
            await asyncio.to_thread(device.stop)
            device.close()
        entries = [aaps_sgv(float(v), at) for at, v in zip(times, FALL, strict=True)]
        async with httpx.AsyncClient(base_url=f"http://{host}/ns/{by_upload.serial}", timeout=20) as http:
            posted = await http.post("/api/v1/entries", json=entries, params={"token": credentials["token"]})
        assert posted.status_code == 200, posted.text
        for patient in (by_upload, by_mqtt):
            await eventually(partial(_has, database, patient, len(FALL)), what="the readings stored")
        await eventually(lambda: _alerts_settled(database, [by_upload, by_mqtt]), what="the alerts")

    uploaded, published = [await _alerts(database, p) for p in (by_upload, by_mqtt)]
    assert "glucose.low" in {a[0] for a in uploaded}
    assert uploaded == published


async def _alerts(database: Database, patient: Enrolled) -> list[tuple[Any, ...]]:
    async with api_client(database) as client:
        answer = (await client.get("/api/v1/alerts", params={"patient_id": str(patient.patient_id)})).json()
    return sorted(
        (
            a["alert_type"],
            a["severity"],
            a["status"],
            tuple((o["at"], o["value"]) for o in a["explanation"].get("observed", [])),
        )
        for a in answer["items"]
    )


async def _alerts_settled(database: Database, patients: list[Enrolled]) -> bool:
    found = [await _alerts(database, p) for p in patients]
    return all(any(a[0] == "glucose.low" for a in f) for f in found) and found[0] == found[1]
