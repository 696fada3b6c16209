"""The cluster profile's NATS configuration (config/nats/), run as three local nodes over TLS.

The repository's file with only the addresses and file locations changed, as
the Mosquitto tests do: the nodes form a cluster over TLS routes, an ingestion
worker's link connects over ``tls://`` with the CA, creates its replicated
streams and finds the mappings; a provisioned device connects over MQTT/TLS
with its own password, and nothing connects without TLS.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from monitoring.config import MqttSettings, NatsSettings
from monitoring.ingest.nats_link import NatsLink
from monitoring.registry.broker_auth import ServiceAccount
from monitoring.registry.nats_auth import export_nats
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.e2e.broker_process import REPOSITORY_CERTS, connect
from tests.faults.cluster import NatsCluster, nats_server_path

pytestmark = pytest.mark.e2e
CONFIG = Path(__file__).resolve().parents[2] / "config" / "nats"
INGEST = ServiceAccount("rpm-ingest", "nats-tls-service-secret")


@dataclass
class Node:
    name: str
    client: int
    route: int
    mqtt: int


def local_config(node: Node, routes: list[int], folder: Path) -> str:
    """config/nats/nats.conf with only the name, the addresses and the file locations changed."""
    text = (CONFIG / "nats.conf").read_text(encoding="utf-8")
    peers = ", ".join(f"nats-route://127.0.0.1:{port}" for port in routes)
    swaps = {
        "server_name: $NATS_SERVER_NAME": f"server_name: {node.name}",
        "listen: 0.0.0.0:4222": f"listen: 127.0.0.1:{node.client}",
        "listen: 0.0.0.0:6222": f"listen: 127.0.0.1:{node.route}",
        "listen: 0.0.0.0:8883": f"listen: 127.0.0.1:{node.mqtt}",
        "routes: [nats-route://nats-1:6222, nats-route://nats-2:6222, nats-route://nats-3:6222]": (
            f"routes: [{peers}]"
        ),
        "store_dir: /data": f"store_dir: {folder / (node.name + '-store')}",
        "/certs/": f"{folder / 'certs'}/",
    }
    for old, new in swaps.items():
        assert old in text, f"config/nats/nats.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


def _start(folder: Path) -> tuple[NatsCluster, list[Node]]:
    subprocess.run(["sh", str(REPOSITORY_CERTS), str(folder / "certs")], check=True, capture_output=True)
    cluster = NatsCluster(folder, NatsSettings().partitions)
    nodes = [Node(n.name, n.client_port, n.route_port, n.mqtt_port) for n in cluster.nodes]
    shutil.copy(CONFIG / "mappings.conf", folder / "mappings.conf")
    for node in nodes:
        config = folder / f"{node.name}.conf"
        config.write_text(local_config(node, [n.route for n in nodes], folder), encoding="utf-8")
        checked = subprocess.run(
            [nats_server_path(), "-t", "-c", str(config)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr + checked.stdout
    for started in cluster.nodes:
        started.start()  # its configuration is the one written above
    return cluster, nodes


async def _provision(database: Database, folder: Path) -> dict[str, Any]:
    async with api_client(database) as admin:
        patient = (await admin.post("/api/v1/patients", json={"mrn": "TLS-1", "display_name": "T"})).json()
        body = {"serial": "tls-watch-1", "kind": "wearable", "patient_id": patient["id"]}
        device: dict[str, Any] = (await admin.post("/api/v1/devices", json=body)).json()
    (folder / "auth").mkdir()
    await export_nats(database, root="rpm", services=[INGEST], path=folder / "auth" / "users.conf")
    return device


@pytest.mark.timeout(180)
async def test_the_cluster_profile_nats_configuration_runs_over_tls(
    database: Database, tmp_path: Path
) -> None:
    nats_server_path()
    device = await _provision(database, tmp_path)
    cluster, nodes = await asyncio.to_thread(_start, tmp_path)
    link: NatsLink | None = None
    try:
        ca = tmp_path / "certs" / "ca.crt"
        credentials = f"{INGEST.username}:{INGEST.password}@"
        settings = NatsSettings(
            url=",".join(f"tls://{credentials}127.0.0.1:{n.client}" for n in nodes), ca_file=ca
        )
        broker = MqttSettings(
            url=f"mqtts://{credentials}127.0.0.1:{nodes[0].mqtt}", ca_file=ca, protocol="3.1.1"
        )
        # Streams R3 (a quorum of the three nodes over TLS routes) and the mappings probe.
        link = await NatsLink.connect(settings, broker, name="tls-test")
        stream = await link.js.stream_info(link.eval_stream)
        assert stream.cluster is not None
        assert len(stream.cluster.replicas or []) == 2  # a leader and two replicas

        def probes() -> None:
            own = connect(nodes[2].mqtt, device["mqtt_username"], device["mqtt_password"], ca_file=ca,
                          protocol=mqtt.MQTTv311)  # fmt: skip
            plain = connect(
                nodes[2].mqtt, device["mqtt_username"], device["mqtt_password"], protocol=mqtt.MQTTv311
            )
            try:
                assert own.connack is not None
                assert own.connack.value == 0
                assert plain.connack is None, "the MQTT listener answered without TLS"
            finally:
                own.close()
                plain.close()

        await asyncio.to_thread(probes)
    finally:
        if link is not None:
            await link.close()
        await asyncio.to_thread(cluster.stop)
