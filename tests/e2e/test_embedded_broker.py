"""The demo's embedded broker signs every client in against the registry, as the production one does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from devices.contract import readings_topic
from monitoring.embedded.broker import BrokerAccess, EmbeddedBroker
from monitoring.registry.broker_auth import ServiceAccount
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.e2e.broker_process import Probe, connect

pytestmark = pytest.mark.e2e
INGEST = ServiceAccount("rpm-ingest", "the embedded broker's ingestion secret")


def _probe(port: int, username: str | None, password: str | None) -> Probe:
    return connect(port, username, password, protocol=mqtt.MQTTv311)


def _check(port: int, a: dict[str, Any], b: dict[str, Any]) -> None:
    """Blocking MQTT probes, run in a worker thread while the broker runs on the test's loop."""
    for username, password in ((None, None), (a["mqtt_username"], "a wrong password"), ("nobody", "x")):
        refused = _probe(port, username, password)
        try:
            assert refused.connack is not None, username
            assert refused.connack.is_failure, username
        finally:
            refused.close()
    ingest = _probe(port, INGEST.username, INGEST.password)
    device, other = (
        _probe(port, a["mqtt_username"], a["mqtt_password"]),
        _probe(port, b["mqtt_username"], b["mqtt_password"]),
    )
    try:
        assert [p.connack.value if p.connack else None for p in (ingest, device, other)] == [0, 0, 0]
        assert not ingest.subscribe("rpm/v1/devices/+/readings").is_failure
        assert device.subscribe("#").is_failure, "a device may read nothing"
        device.publish(readings_topic(a["mqtt_username"]), b"own")
        device.publish(readings_topic(b["mqtt_username"]), b"pretending to be b")
        other.publish(readings_topic(b["mqtt_username"]), b"b's own")
        time.sleep(1.0)
        assert sorted(ingest.received) == [
            (readings_topic(a["mqtt_username"]), b"own"),
            (readings_topic(b["mqtt_username"]), b"b's own"),
        ]
    finally:
        for probe in (ingest, device, other):
            probe.close()


async def test_the_embedded_broker_refuses_strangers_and_confines_devices(database: Database) -> None:
    async with api_client(database) as admin:
        patient = (await admin.post("/api/v1/patients", json={"mrn": "EMB-1", "display_name": "E"})).json()
        issued = [
            (
                await admin.post(
                    "/api/v1/devices", json={"serial": s, "kind": "wearable", "patient_id": patient["id"]}
                )
            ).json()
            for s in ("emb-watch-a", "emb-watch-b")
        ]
    broker = EmbeddedBroker(BrokerAccess(database, INGEST, "rpm"))
    await broker.start()
    try:
        await asyncio.to_thread(_check, broker.port, *issued)
    finally:
        await broker.stop()
