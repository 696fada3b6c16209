"""The benchmark's ``monitoring ingest`` workers: processes started, probed over HTTP and stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from benchmarks.nats_cluster import NatsCluster
from benchmarks.procstat import pids_of, stop_process
from monitoring.embedded.broker import free_port


class BenchWorker:
    def __init__(
        self,
        index: int,
        of: int,
        url: str,
        broker: str,
        root: str,
        protocol: str,
        cluster: NatsCluster | None,
    ) -> None:
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RPM_")}
        self.env |= {
            "RPM_DATABASE__URL": url,
            "RPM_MQTT__URL": f"mqtt://{broker}",
            "RPM_MQTT__TOPIC_ROOT": root,
            "RPM_MQTT__CLIENT_ID": f"{root}-ingest-{index}",
            "RPM_MQTT__SESSION_EXPIRY_S": "600",
            "RPM_MQTT__PROTOCOL": protocol,
            "RPM_INGEST__HTTP_PORT": str(self.port),
            "RPM_LOG_LEVEL": "ERROR",
        }
        if cluster is not None:  # workers lease partitions of patients at run time
            self.env["RPM_NATS__URL"] = cluster.url
            self.env["RPM_NATS__PARTITIONS"] = str(cluster.partitions)
        elif of > 1:  # each worker owns a share of the patients (monitoring.ingest.ownership)
            self.env["RPM_INGEST__PARTITIONS"] = str(of)
            self.env["RPM_INGEST__PARTITION"] = str(index)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "monitoring_cli", "ingest"], env=self.env)

    def wait_ready(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("an ingestion worker did not become ready")

    def metric(self, name: str) -> float:
        return self.metrics(name)[0]

    def metrics(self, *names: str) -> list[float]:
        """These counters or gauges from one read of ``/metrics`` (0 for any the read did not get)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as reply:  # noqa: S310
                text = reply.read().decode()
        except OSError:
            return [0.0] * len(names)
        found: dict[str, float] = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name in names:
                found[name] = float(value.split()[0])
        return [found.get(name, 0.0) for name in names]

    def partitions_held(self) -> int:
        return int(self.metric("rpm_ingest_partitions_held"))

    def stored(self) -> int:
        return int(self.metric("rpm_readings_stored_total"))

    def stop(self) -> None:
        """SIGTERM: every patient's detector state is checkpointed before the worker exits."""
        if self.process is not None:
            stop_process(self.process, grace_s=120)
            self.process = None


def process_groups(
    workers: list[BenchWorker], broker: str, cluster: NatsCluster | None
) -> dict[str, list[int]]:
    nodes = [node.process.pid for node in cluster.nodes if node.process] if cluster is not None else None
    return {
        "broker": nodes if nodes is not None else pids_of(broker),
        "ingest": [w.pid for w in workers],
        "postgresql": pids_of("postgres"),
    }


def wait_held(workers: list[BenchWorker], cluster: NatsCluster | None, timeout_s: float = 120) -> None:
    """On a cluster, wait until the workers lease every partition (and so have restored its state):
    a worker is ready before it holds any."""
    deadline = time.monotonic() + timeout_s
    while cluster is not None and sum(w.partitions_held() for w in workers) < cluster.partitions:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workers did not take every partition within {timeout_s} s")
        time.sleep(0.5)
