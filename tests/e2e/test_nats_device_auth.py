"""Per-device credentials and permissions on a real three-node NATS cluster (`broker-auth --nats`).

Devices provisioned through the API connect to the cluster's MQTT listeners
with the password they were issued; each may publish only on its own two
topics. What the ingestion account receives is compared, message by message,
with what each device sent.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import nats
import nats.errors
import paho.mqtt.client as mqtt
import pytest
from nats.aio.msg import Msg

from devices.contract import readings_topic, status_topic
from monitoring.registry.broker_auth import ServiceAccount, broker_hash
from monitoring.registry.nats_auth import export_nats
from monitoring.storage.db import Database
from monitoring.storage.models import Device
from tests.api_support import api_client
from tests.e2e.broker_process import connect
from tests.faults.cluster import NatsCluster, nats_server_path

pytestmark = pytest.mark.e2e
INGEST = ServiceAccount("rpm-ingest", "nats-service-secret-for-tests")
A, B, OLD = "nats-watch-a", "nats-cgm.b", "nats-old-watch"  # B's serial has a dot: `//` in its subject


async def _provision(database: Database) -> dict[str, dict[str, Any]]:
    async with api_client(database) as admin:
        patient = (await admin.post("/api/v1/patients", json={"mrn": "NATS-1", "display_name": "N"})).json()
        issued = {}
        for serial in (A, B):
            body = {"serial": serial, "kind": "wearable", "patient_id": patient["id"]}
            issued[serial] = (await admin.post("/api/v1/devices", json=body)).json()
    async with database.unit_of_work() as session:  # provisioned before NATS hashes were kept
        old = Device(serial=OLD, kind="wearable", mqtt_password_hash=broker_hash("old"), status="active")
        session.add(old)
    return issued


def _open_mqtt_streams(cluster: NatsCluster) -> None:
    """The first MQTT connection makes the cluster create its MQTT streams (R3): seconds, once."""
    deadline = time.monotonic() + 30
    while True:
        probe = connect(cluster.mqtt_ports[0], INGEST.username, INGEST.password, protocol=mqtt.MQTTv311)
        probe.close()
        if probe.connack is not None or time.monotonic() > deadline:
            assert probe.connack is not None
            assert probe.connack.value == 0
            return


def _devices_are_confined(cluster: NatsCluster, a: dict[str, Any], b: dict[str, Any]) -> None:
    """Blocking MQTT probes: run in a worker thread. Each device on another node of the cluster."""
    v311 = mqtt.MQTTv311
    device = connect(cluster.mqtt_ports[1], a["mqtt_username"], a["mqtt_password"], protocol=v311)
    other = connect(cluster.mqtt_ports[2], b["mqtt_username"], b["mqtt_password"], protocol=v311)
    try:
        assert device.connack is not None
        assert other.connack is not None
        assert (device.connack.value, other.connack.value) == (0, 0)
        assert device.subscribe("#").is_failure, "a device may subscribe to every topic"
        assert device.subscribe(readings_topic(B)).is_failure
        # MQTT 3.1.1 has no refusal of a PUBLISH: the broker acknowledges it and drops it.
        assert device.publish(readings_topic(A), b"own").value == 0
        device.publish(readings_topic(B), b"pretending to be b")
        device.publish("rpm/v1/elsewhere", b"x")
        assert device.publish(status_topic(A), b"{}").value == 0
        assert other.publish(readings_topic(B), b"b's own").value == 0
        time.sleep(1.0)
        assert device.received == [], "a device read another device's messages"
    finally:
        device.close()
        other.close()


def _refused(port: int, username: str | None, password: str | None) -> bool:
    probe = connect(port, username, password, protocol=mqtt.MQTTv311)
    try:
        return probe.connack is not None and probe.connack.is_failure
    finally:
        probe.close()


async def _no_device_speaks_nats(cluster: NatsCluster, a: dict[str, Any]) -> None:
    url = f"nats://{a['mqtt_username']}:{a['mqtt_password']}@127.0.0.1:{cluster.nodes[0].client_port}"
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3)


@pytest.mark.timeout(120)
async def test_devices_on_the_nats_cluster_connect_as_themselves_and_publish_only_their_own(
    database: Database, tmp_path: Path
) -> None:
    nats_server_path()
    issued = await _provision(database)
    users = tmp_path / "nats-users.conf"
    written = await export_nats(database, root="rpm", services=[INGEST], path=users)
    assert (written.devices, written.to_rotate) == (2, [OLD])
    text = users.read_text()
    assert oct(users.stat().st_mode & 0o777) == "0o600"
    assert issued[A]["mqtt_password"] not in text
    assert INGEST.password not in text
    assert '"rpm.v1.devices.nats-cgm//b.readings"' in text

    cluster = NatsCluster(tmp_path, 4, auth=users, service=(INGEST.username, INGEST.password))
    await asyncio.to_thread(cluster.start)
    await asyncio.to_thread(_open_mqtt_streams, cluster)
    ingest = await nats.connect(cluster.url.split(","), connect_timeout=5)
    received: list[tuple[str, bytes]] = []

    async def note(message: Msg) -> None:
        received.append((message.subject, message.data))

    try:
        # The cluster maps device subjects onto route partitions before anyone reads them.
        await ingest.subscribe("rpm.v1.route.*.*.*", cb=note)
        await ingest.flush()
        a, b = issued[A], issued[B]
        await asyncio.to_thread(_devices_are_confined, cluster, a, b)
        got = sorted((subject.split(".", 4)[4], data) for subject, data in received)
        assert got == [
            ("nats-cgm//b.readings", b"b's own"),
            ("nats-watch-a.readings", b"own"),
            ("nats-watch-a.status", b"{}"),
        ]
        port = cluster.mqtt_ports[0]
        for username, password in ((A, "a wrong password"), (None, None), ("nobody", "x"), (OLD, "old")):
            assert await asyncio.to_thread(_refused, port, username, password), f"{username} connected"
        await _no_device_speaks_nats(cluster, a)

        # Retiring B takes it off the cluster at the next export and reload; A is unaffected.
        async with api_client(database) as admin:
            assert (await admin.post(f"/api/v1/devices/{b['device']['id']}/retire")).status_code == 200
        written = await export_nats(database, root="rpm", services=[INGEST], path=users)
        assert written.devices == 1
        cluster.reload()
        await asyncio.sleep(1.0)
        for node_port in cluster.mqtt_ports:
            assert await asyncio.to_thread(_refused, node_port, b["mqtt_username"], b["mqtt_password"])
            assert not await asyncio.to_thread(_refused, node_port, a["mqtt_username"], a["mqtt_password"])
    finally:
        await ingest.close()
        await asyncio.to_thread(cluster.stop)
