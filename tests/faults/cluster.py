"""The workers of a clustered fault run; the three NATS nodes are ``benchmarks.nats_cluster``'s."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.nats_cluster import NatsCluster, nats_server_path
from tests.faults.services import IngestWorker

__all__ = ["ClusterWorker", "NatsCluster", "nats_server_path"]


@dataclass
class ClusterWorker(IngestWorker):
    """``monitoring ingest`` on the cluster: leases partitions, routes messages, evaluates its share."""

    nats_url: str = ""
    name: str = "w1"
    partitions: int = 16
    lease_s: float = 6.0
    ack_wait_s: float = 5.0

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(
            RPM_NATS__URL=self.nats_url,
            RPM_NATS__PARTITIONS=str(self.partitions),
            RPM_NATS__LEASE_S=str(self.lease_s),
            RPM_NATS__ACK_WAIT_S=str(self.ack_wait_s),
            RPM_MQTT__CLIENT_ID=f"ingest-{self.name}",
            RPM_MQTT__PROTOCOL="3.1.1",
            RPM_DATA_DIR=str(self.root / f"{self.name}-data"),
            RPM_LOG_LEVEL="INFO",
        )
        return env

    def log_path(self) -> Path:
        return self.root / f"{self.name}-{self.starts}.log"
