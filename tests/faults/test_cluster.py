"""Workers on a three-node NATS cluster: each reads only its share; partitions follow workers in and out.

The fault run (``test_faults.py``, ``python -m tests.faults --cluster``) kills
things; this test measures the sharing itself, with nothing broken: every
message routed once and evaluated once, split between the workers, and the
partitions redistributed when a third worker joins and when one stops.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
import urllib.request

import pytest
from sqlalchemy import func, select

from monitoring.ingest import lease_repository
from monitoring.ingest.ownership import partition_of
from monitoring.storage.db import Database
from monitoring.storage.models import Device, Reading
from tests.faults.cluster import ClusterWorker, issue_credentials, nats_server_path, secured_cluster
from tests.faults.load import PER_MESSAGE, Fleet
from tests.faults.run import _prepare
from tests.faults.services import PrivatePostgres, scratch_folder

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

ROOT = "share"
PARTITIONS = 16


def counter(worker: ClusterWorker, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.http_port}/metrics", timeout=5) as reply:  # noqa: S310
        text = reply.read().decode()
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def _query(url: str) -> tuple[int, dict[int, str | None]]:
    database = Database(url)
    try:
        async with database.sessions() as session:
            stored = int(await session.scalar(select(func.count()).select_from(Reading)) or 0)
            holders = await lease_repository.holders(session=session)
        return stored, holders
    finally:
        await database.dispose()


async def _owed(url: str) -> dict[str, tuple[int, int]]:
    """Per lease holder: readings messages of the patients whose partitions it holds, and their devices."""
    database = Database(url)
    try:
        async with database.sessions() as session:
            holders = await lease_repository.holders(session=session)
            rows = (
                await session.execute(
                    select(Device.patient_id, func.count())
                    .join(Reading, Reading.device_id == Device.id)
                    .group_by(Device.patient_id)
                )
            ).all()
    finally:
        await database.dispose()
    owed: dict[str, tuple[int, int]] = {}
    for patient_id, readings in rows:
        assert patient_id is not None  # every device of the test is enrolled
        holder = str(holders[partition_of(patient_id, PARTITIONS)])
        messages, devices = owed.get(holder, (0, 0))
        owed[holder] = (messages + readings // PER_MESSAGE, devices + 1)
    return owed


def _split(url: str) -> list[int]:
    """How many partitions each live holder has, smallest first (a partition nobody holds: [])."""
    held = list(asyncio.run(_query(url))[1].values())
    if None in held:
        return []
    return sorted(held.count(name) for name in set(held))


def wait_for(check: object, timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.2)
    return time.monotonic() - started


@pytest.mark.timeout(300)
def test_workers_read_only_their_share_and_partitions_follow_workers_joining_and_leaving() -> None:
    nats_server_path()
    folder = scratch_folder()
    postgres = PrivatePostgres(folder)
    cluster = secured_cluster(folder, PARTITIONS)
    postgres.create()
    workers: list[ClusterWorker] = []
    fleet: Fleet | None = None
    passed = False
    try:
        serials = [f"SHARE-{i:03d}" for i in range(24)]
        asyncio.run(_prepare(postgres.url, serials))
        passwords = asyncio.run(issue_credentials(postgres.url, cluster, serials, ROOT))
        cluster.start()

        def worker(name: str) -> ClusterWorker:
            return ClusterWorker(
                folder,
                postgres.url,
                cluster.mqtt_url,
                ROOT,
                60.0,
                nats_url=cluster.url,
                name=name,
                partitions=PARTITIONS,
            )

        workers = [worker("w1"), worker("w2")]
        for w in workers:
            w.start()
        for w in workers:
            w.wait_ready()
        wait_for(lambda: _split(postgres.url) == [8, 8], 30, "the partitions split between two workers")
        fleet = Fleet(
            serials,
            ports=cluster.mqtt_ports,
            protocol="3.1.1",
            topic_root=ROOT,
            outboxes=folder,
            seed=7,
            tick_s=0.25,
            passwords=passwords,
        )
        fleet.start(max_ticks=40, max_s=30)
        time.sleep(40 * 0.25 + 0.5)
        fleet.stop_recording()
        assert fleet.drain(timeout_s=60) == 0
        published = fleet.published
        wait_for(lambda: asyncio.run(_query(postgres.url))[0] == published, 60, "every reading stored")

        # Readings messages, and each device's status messages (online at connect).
        evaluated = [counter(w, "rpm_ingest_messages_total") for w in workers]
        routed = [counter(w, "rpm_ingest_messages_routed_total") for w in workers]
        print(f"readings messages {published // PER_MESSAGE}: evaluated {evaluated}, routed {routed}")  # noqa: T201
        assert sum(routed) >= published // PER_MESSAGE
        assert sum(evaluated) == sum(routed)  # each message routed once and evaluated once
        for share in routed:  # devices hash into route partitions by serial: each routes a part
            assert 0.2 * sum(routed) < share < 0.8 * sum(routed)
        # Each worker evaluated exactly its own patients' readings messages (those whose partitions
        # it holds), and their devices' status messages (one at connect; a reconnect adds one).
        owed = asyncio.run(_owed(postgres.url))
        for w, count in zip(workers, evaluated, strict=True):
            assert w.process is not None
            [(messages, devices)] = [v for holder, v in owed.items() if f"-{w.process.pid}-" in holder]
            assert messages > 0
            assert messages + devices <= count <= messages + 2 * devices

        workers.append(worker("w3"))
        workers[-1].start()
        workers[-1].wait_ready()

        joined_s = wait_for(lambda: _split(postgres.url) == [5, 5, 6], 30, "the partitions split three ways")

        stopping = workers.pop(0)
        stopping.stop()  # SIGTERM: state saved, leases released at once

        left_s = wait_for(lambda: _split(postgres.url) == [8, 8], 30, "two left, eight each")
        print(f"rebalanced {joined_s:.1f} s after a worker joined, {left_s:.1f} s after one stopped")  # noqa: T201
        passed = True
    finally:
        if fleet is not None:
            fleet.close()
        for w in workers:
            w.stop()
        cluster.stop()
        postgres.destroy()
        if passed:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"process logs kept in {folder}")  # noqa: T201
