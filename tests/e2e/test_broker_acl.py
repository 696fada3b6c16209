"""Per-device broker credentials and ACL, enforced by a real Mosquitto started with them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from devices.contract import readings_topic, status_topic
from monitoring.registry.broker_auth import ServiceAccount, export
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.e2e.broker_process import SecuredBroker, connect, secured_broker

pytestmark = pytest.mark.e2e
INGEST = ServiceAccount("rpm-ingest", "an ingestion secret for tests only")


async def _provision(database: Database) -> dict[str, dict[str, Any]]:
    async with api_client(database) as admin:
        patient = (await admin.post("/api/v1/patients", json={"mrn": "ACL-1", "display_name": "A"})).json()
        issued = {}
        for serial in ("acl-watch-a", "acl-watch-b"):
            body = {"serial": serial, "kind": "wearable", "patient_id": patient["id"]}
            issued[serial] = (await admin.post("/api/v1/devices", json=body)).json()
    return issued


def _devices_are_confined(port: int, a: dict[str, Any], b: dict[str, Any]) -> None:
    """Blocking MQTT probes: run in a worker thread, off the test's event loop."""
    ingest = connect(port, INGEST.username, INGEST.password)
    device = connect(port, a["mqtt_username"], a["mqtt_password"])
    try:
        assert ingest.connack is not None
        assert device.connack is not None
        assert (ingest.connack.value, device.connack.value) == (0, 0)
        assert ingest.subscribe("rpm/v1/devices/+/readings").value == 1  # granted QoS 1
        # Mosquitto may grant a subscription, but delivers only what the ACL lets the reader read.
        device.subscribe("#")
        device.subscribe(readings_topic("acl-watch-b"))

        assert device.publish(readings_topic("acl-watch-a"), b"own").value == 0
        spoofed = device.publish(readings_topic("acl-watch-b"), b"pretending to be b")
        assert spoofed.is_failure, f"publishing on another device's topic was accepted: {spoofed}"
        assert device.publish(status_topic("acl-watch-a"), b"{}").value == 0
        assert device.publish("rpm/v1/elsewhere", b"x").is_failure
        other = connect(port, b["mqtt_username"], b["mqtt_password"])
        assert other.publish(readings_topic("acl-watch-b"), b"b's own").value == 0
        other.close()

        time.sleep(1.0)
        assert sorted(ingest.received) == [
            (readings_topic("acl-watch-a"), b"own"),
            (readings_topic("acl-watch-b"), b"b's own"),
        ]
        assert device.received == [], "a device read another device's readings"
    finally:
        ingest.close()
        device.close()

    for username, password in ((a["mqtt_username"], "a wrong password"), (None, None), ("nobody", "x")):
        refused = connect(port, username, password)
        try:
            assert refused.connack is not None
            assert refused.connack.is_failure, f"{username} connected: {refused.connack}"
        finally:
            refused.close()


def _tls_listener_works_and_is_tls_only(broker: SecuredBroker, a: dict[str, Any]) -> None:
    """Port 8883 of the repository's config: the broker's certificate verifies, plain MQTT gets nothing."""
    ingest = connect(broker.tls_port, INGEST.username, INGEST.password, ca_file=broker.ca_file)
    device = connect(broker.tls_port, a["mqtt_username"], a["mqtt_password"], ca_file=broker.ca_file)
    try:
        assert ingest.connack is not None
        assert device.connack is not None
        assert (ingest.connack.value, device.connack.value) == (0, 0)
        assert ingest.subscribe("rpm/v1/devices/+/readings").value == 1
        assert device.publish(readings_topic("acl-watch-a"), b"over tls").value == 0
        time.sleep(0.5)
        assert ingest.received == [(readings_topic("acl-watch-a"), b"over tls")]
    finally:
        ingest.close()
        device.close()
    plain = connect(broker.tls_port, a["mqtt_username"], a["mqtt_password"])
    try:
        assert plain.connack is None, "the TLS port answered plain MQTT"
    finally:
        plain.close()


def _only_a_may_connect(broker: SecuredBroker, a: dict[str, Any], b: dict[str, Any]) -> None:
    broker.reload()
    gone = connect(broker.port, b["mqtt_username"], b["mqtt_password"])
    still = connect(broker.port, a["mqtt_username"], a["mqtt_password"])
    try:
        assert gone.connack is not None
        assert gone.connack.is_failure
        assert still.connack is not None
        assert still.connack.value == 0
    finally:
        gone.close()
        still.close()


async def test_a_device_may_publish_only_on_its_own_topics_and_read_nothing(
    database: Database, tmp_path: Path
) -> None:
    issued = await _provision(database)
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    assert await export(database, root="rpm", services=[INGEST], passwd=passwd, acl=acl) == 2
    a, b = issued["acl-watch-a"], issued["acl-watch-b"]
    assert a["readings_topic"] == readings_topic("acl-watch-a")
    running = secured_broker(tmp_path, passwd, acl)
    broker = await asyncio.to_thread(running.__enter__)
    try:
        await asyncio.to_thread(_devices_are_confined, broker.port, a, b)
        await asyncio.to_thread(_tls_listener_works_and_is_tls_only, broker, a)
        # Retiring a device takes it off the broker at the next export and reload.
        async with api_client(database) as admin:
            retired = await admin.post(f"/api/v1/devices/{b['device']['id']}/retire")
        assert retired.status_code == 200
        assert await export(database, root="rpm", services=[INGEST], passwd=passwd, acl=acl) == 1
        await asyncio.to_thread(_only_a_may_connect, broker, a, b)
    finally:
        await asyncio.to_thread(running.__exit__, None, None, None)


async def test_the_written_files_are_private_and_hold_no_plain_password(
    database: Database, tmp_path: Path
) -> None:
    issued = await _provision(database)
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    await export(database, root="rpm", services=[INGEST], passwd=passwd, acl=acl)
    text = passwd.read_text()
    assert oct(passwd.stat().st_mode & 0o777) == "0o600"
    for credentials in issued.values():
        assert f"{credentials['mqtt_username']}:$7$" in text
        assert credentials["mqtt_password"] not in text
    assert INGEST.password not in text
    assert "pattern write rpm/v1/devices/%u/readings" in acl.read_text()
    assert time.time() - passwd.stat().st_mtime < 60
