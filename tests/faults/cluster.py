"""The workers of a clustered fault run; the three NATS nodes are ``benchmarks.nats_cluster``'s.

The cluster runs as in production: every device connects with the password
the registry issued it, confined by the users file ``monitoring broker-auth
--nats`` writes, and the workers with the ingestion service's account.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.nats_cluster import NatsCluster, nats_server_path
from monitoring.registry.broker_auth import ServiceAccount
from monitoring.registry.devices import issue_passwords
from monitoring.registry.nats_auth import export_nats
from monitoring.storage.db import Database
from tests.faults.services import IngestWorker

__all__ = ["ClusterWorker", "NatsCluster", "nats_server_path", "secured_cluster"]

SERVICE = ServiceAccount("rpm-ingest", "cluster-tests-service-secret")


def secured_cluster(folder: Path, partitions: int) -> NatsCluster:
    """Nodes that admit only the accounts ``issue_credentials`` writes (start the cluster after it)."""
    return NatsCluster(
        folder, partitions, auth=folder / "nats-users.conf", service=(SERVICE.username, SERVICE.password)
    )


async def issue_credentials(url: str, cluster: NatsCluster, serials: list[str], root: str) -> dict[str, str]:
    """New passwords for ``serials`` and the cluster's users file written from the registry."""
    assert cluster.auth is not None
    database = Database(url)
    try:
        async with database.unit_of_work() as session:
            passwords = await issue_passwords(session=session, serials=serials)
        written = await export_nats(database, root=root, services=[SERVICE], path=cluster.auth)
        assert (written.devices, written.to_rotate) == (len(serials), [])
        return passwords
    finally:
        await database.dispose()


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
