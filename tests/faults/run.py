"""A fault run: load through the real Mosquitto and PostgreSQL while faults are injected at random moments.

Faults, in a shuffled cycle so each kind comes back:
- ``ingest_kill``: kill -9 of the ingestion worker, restarted after a pause;
- ``broker_restart``: Mosquitto stopped and started again (its sessions persist);
- ``database_restart``: PostgreSQL fast stop and start; readiness must report the outage;
- ``device_offline``: one device loses its connection and drains its backlog on return;
- ``primary_failover`` (with ``replicated``, instead of ``database_restart``): the database is a
  primary and a synchronous standby, the service's URL names both; kill -9 of the primary,
  promotion of the standby after a pause, then the lost node rebuilt as the new standby.

With ``cluster`` the devices publish to a three-node NATS cluster (JetStream, R3) and two
workers share the patients through leased partitions; the database is replicated as above:
- ``worker_kill`` (instead of ``ingest_kill``): kill -9 of one worker; the other must hold
  every partition once the dead one's leases expire; the killed one is started again;
- ``broker_node_kill`` (instead of ``broker_restart``): kill -9 of one NATS node, started
  again after a pause; its devices reconnect to it, the workers to the nodes left.

Every fault carries a bradycardia episode on its own device, started a moment
before or during the fault. Afterwards every published reading must be stored
exactly once with its value, and every episode must have raised exactly one
alert (marked late when it was evaluated later than ``late_after_s``).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from monitoring.storage import migrate
from monitoring.storage.db import Database
from tests.faults.cluster import ClusterWorker, NatsCluster, issue_credentials, secured_cluster
from tests.faults.load import Fleet, FleetDevice
from tests.faults.services import (
    IngestWorker,
    PrivatePostgres,
    ReplicatedPostgres,
    RestartableBroker,
    scratch_folder,
)
from tests.faults.verify import Outcome, verify

FaultKind = Literal[
    "ingest_kill",
    "broker_restart",
    "database_restart",
    "device_offline",
    "primary_failover",
    "worker_kill",
    "broker_node_kill",
]
KINDS: tuple[FaultKind, ...] = ("ingest_kill", "broker_restart", "database_restart", "device_offline")
REPLICATED_KINDS: tuple[FaultKind, ...] = (
    "ingest_kill",
    "broker_restart",
    "primary_failover",
    "device_offline",
)
CLUSTER_KINDS: tuple[FaultKind, ...] = (
    "worker_kill",
    "broker_node_kill",
    "primary_failover",
    "device_offline",
)
TOPIC_ROOT = "faults"
PARTITIONS = 16  # of patients, leased by the cluster's workers
Database_ = PrivatePostgres | ReplicatedPostgres


@dataclass
class Fault:
    kind: FaultKind
    at_s: float  # since the load started
    down_s: float
    device: str
    recovered_s: float = 0.0  # from the service's return to the worker being ready again
    readiness_during: int | None = None  # /ready status seen while the database was down
    replication: str | None = None  # how the standby replicated when the primary was killed
    takeover_s: float | None = None  # worker_kill: until every partition had a live holder again


@dataclass
class FaultRun:
    faults: list[Fault] = field(default_factory=list)
    devices: int = 0
    seconds: float = 0.0
    outcome: Outcome | None = None
    folder: str = ""  # the processes' logs, kept when the run is not clean
    # Replicated runs: readings stored on the final primary and on its standby, once replayed.
    on_primary_and_standby: tuple[object, object] | None = None

    @property
    def counts(self) -> dict[str, int]:
        counted = {
            kind: sum(1 for f in self.faults if f.kind == kind)
            for kind in dict.fromkeys((*KINDS, *REPLICATED_KINDS, *CLUSTER_KINDS))
        }
        return {kind: n for kind, n in counted.items() if n}


@dataclass(frozen=True)
class Plan:
    faults: int = 24
    seed: int = 1
    tick_s: float = 0.25
    late_after_s: float = 2.0
    max_s: float = 900.0  # the whole run, load included, is bounded in time
    replicated: bool = False  # a primary and a synchronous standby, and failovers
    cluster: bool = False  # a NATS cluster and two workers (the database replicated too)

    @property
    def kinds(self) -> tuple[FaultKind, ...]:
        if self.cluster:
            return CLUSTER_KINDS
        return REPLICATED_KINDS if self.replicated else KINDS


def run_faults(plan: Plan) -> FaultRun:
    folder = scratch_folder()
    run = _run_in(plan, folder)
    if run.outcome is not None and run.outcome.clean:
        shutil.rmtree(folder, ignore_errors=True)
    return run


@dataclass
class Services:
    """What a run breaks: the database, the broker (Mosquitto or a NATS cluster) and the workers."""

    postgres: Database_
    broker: RestartableBroker | NatsCluster
    workers: list[IngestWorker]

    def wait_ready(self) -> None:
        for worker in self.workers:
            worker.wait_ready()


def _run_in(plan: Plan, folder: Path) -> FaultRun:
    rng = random.Random(plan.seed)
    replicated = plan.replicated or plan.cluster
    postgres: Database_ = ReplicatedPostgres(folder) if replicated else PrivatePostgres(folder)
    broker: RestartableBroker | NatsCluster = (
        secured_cluster(folder, PARTITIONS) if plan.cluster else RestartableBroker(folder)
    )
    postgres.create()
    try:
        serials = [f"FAULT-{i:03d}" for i in range(plan.faults + 4)]
        asyncio.run(_prepare(postgres.url, serials))
        passwords = (
            asyncio.run(issue_credentials(postgres.url, broker, serials, TOPIC_ROOT))
            if isinstance(broker, NatsCluster)
            else None
        )
        broker.start()
        services = Services(postgres, broker, _workers(plan, folder, postgres.url, broker))
        for worker in services.workers:
            worker.start()
        services.wait_ready()
        fleet = Fleet(
            serials,
            ports=broker.mqtt_ports if isinstance(broker, NatsCluster) else [broker.port],
            protocol="3.1.1" if isinstance(broker, NatsCluster) else "5",
            topic_root=TOPIC_ROOT,
            outboxes=folder,
            seed=plan.seed,
            tick_s=plan.tick_s,
            passwords=passwords,
        )
        run = FaultRun(devices=len(serials), folder=str(folder))
        try:
            _inject_all(plan, rng, fleet, services, run)
            run.outcome = _settle(postgres.url, fleet, run)
            if isinstance(postgres, ReplicatedPostgres):
                run.on_primary_and_standby = postgres.standby_caught_up("SELECT count(*) FROM readings")
        finally:
            fleet.stop_recording()
            fleet.close()
            for worker in services.workers:
                worker.stop()
        return run
    finally:
        broker.stop()
        postgres.destroy()


def _workers(
    plan: Plan, folder: Path, url: str, broker: RestartableBroker | NatsCluster
) -> list[IngestWorker]:
    if isinstance(broker, NatsCluster):
        return [
            ClusterWorker(
                folder,
                url,
                broker.mqtt_url,
                TOPIC_ROOT,
                plan.late_after_s,
                nats_url=broker.url,
                name=f"w{i}",
                partitions=PARTITIONS,
            )
            for i in (1, 2)
        ]
    return [IngestWorker(folder, url, broker.url, TOPIC_ROOT, plan.late_after_s)]


async def _prepare(url: str, serials: list[str]) -> None:
    from tests.factories import enrol

    await migrate.upgrade(url)
    database = Database(url)
    try:
        for serial in serials:
            await enrol(database, serial=serial)
    finally:
        await database.dispose()


def _inject_all(plan: Plan, rng: random.Random, fleet: Fleet, services: Services, run: FaultRun) -> None:
    started = time.monotonic()
    fleet.start(max_ticks=int(plan.max_s / plan.tick_s), max_s=plan.max_s)
    time.sleep(2.0)  # the detectors see every device's normal rate first
    kinds: list[FaultKind] = []
    for index in range(plan.faults):
        if not kinds:
            kinds = list(plan.kinds)
            rng.shuffle(kinds)
        if time.monotonic() - started > plan.max_s * 0.8:
            break
        time.sleep(rng.uniform(1.0, 3.0))
        device = fleet.devices[index]
        early = rng.random() < 0.5  # the episode starts just before the fault, or during it
        if early:
            fleet.episode(index)
            time.sleep(rng.uniform(0.0, 0.4))
        fault = Fault(kinds.pop(), round(time.monotonic() - started, 2), 0.0, device.serial)
        _inject(fault, rng, plan, fleet, device, services, episode=not early)
        run.faults.append(fault)
    fleet.stop_recording()
    run.seconds = round(time.monotonic() - started, 1)


def _inject(
    fault: Fault,
    rng: random.Random,
    plan: Plan,
    fleet: Fleet,
    device: FleetDevice,
    services: Services,
    *,
    episode: bool,
) -> None:
    index = fleet.devices.index(device)
    postgres, broker = services.postgres, services.broker
    down = rng.uniform(0.5, 3.0)
    worker = rng.choice(services.workers)
    node = rng.choice(broker.nodes) if isinstance(broker, NatsCluster) else None
    killed_at = time.monotonic()
    dead_pid = worker.process.pid if worker.process is not None else None
    if fault.kind in ("ingest_kill", "worker_kill"):
        worker.kill()
    elif fault.kind == "broker_restart":
        broker.stop()
    elif fault.kind == "broker_node_kill":
        assert node is not None
        node.kill()
    elif fault.kind == "database_restart":
        assert isinstance(postgres, PrivatePostgres)
        postgres.stop_fast()
    elif fault.kind == "primary_failover":
        assert isinstance(postgres, ReplicatedPostgres)
        fault.replication = postgres.kill_primary()
    else:
        down = rng.uniform(plan.late_after_s * 1.5, plan.late_after_s * 3)
        device.client.go_offline()
    if episode:
        fleet.episode(index)
    if fault.kind in ("database_restart", "primary_failover"):
        time.sleep(min(down, 0.5))
        fault.readiness_during = _readiness_while_down(services.workers[0])
        time.sleep(max(0.0, down - 0.5))
    else:
        time.sleep(down)
    fault.down_s = round(down, 2)
    back = time.monotonic()
    if fault.kind == "ingest_kill":
        worker.start()
    elif fault.kind == "worker_kill":
        # The survivors take the dead worker's partitions over first; then it comes back.
        assert dead_pid is not None
        fault.takeover_s = round(_taken_over(postgres.url, dead_pid) - killed_at, 2)
        back = time.monotonic()
        worker.start()
    elif fault.kind == "broker_restart":
        assert isinstance(broker, RestartableBroker)
        broker.start()
    elif fault.kind == "broker_node_kill":
        assert node is not None
        node.start()
    elif fault.kind == "database_restart":
        assert isinstance(postgres, PrivatePostgres)
        postgres.start()
    elif fault.kind == "primary_failover":
        assert isinstance(postgres, ReplicatedPostgres)
        postgres.promote()
    else:
        device.client.go_online()
    services.wait_ready()
    fault.recovered_s = round(time.monotonic() - back, 2)
    if fault.kind == "primary_failover":
        assert isinstance(postgres, ReplicatedPostgres)
        postgres.rebuild()  # two copies again before the next fault


def _taken_over(url: str, dead_pid: int, timeout_s: float = 60) -> float:
    """When every partition is held again, and none by the worker with ``dead_pid`` (its name holds it)."""
    dead = f"-{dead_pid}-"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        holders = asyncio.run(_holders(url))
        if holders and all(owner is not None and dead not in owner for owner in holders.values()):
            return time.monotonic()
        time.sleep(0.2)
    raise RuntimeError(f"the dead worker's partitions were not taken over within {timeout_s} s")


async def _holders(url: str) -> dict[int, str | None]:
    from monitoring.ingest import lease_repository

    database = Database(url)
    try:
        async with database.sessions() as session:
            return await lease_repository.holders(session=session)
    finally:
        await database.dispose()


def _readiness_while_down(worker: IngestWorker) -> int | None:
    """What /ready answers while the database is down (it should be 503, within a few seconds)."""
    deadline = time.monotonic() + 5
    status = worker.readiness()
    while status == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        status = worker.readiness()
    return status


def _settle(url: str, fleet: Fleet, run: FaultRun) -> Outcome:
    waiting = fleet.drain(timeout_s=120)
    episodes: dict[str, datetime | None] = {
        fault.device: fleet.devices[i].episode_started_at for i, fault in enumerate(run.faults)
    }
    offline = {fault.device for fault in run.faults if fault.kind == "device_offline"}
    published = {device.serial: device.published for device in fleet.devices}
    return asyncio.run(verify(url, published, episodes, offline, undelivered=waiting))
