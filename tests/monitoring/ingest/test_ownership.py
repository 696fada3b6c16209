"""Workers sharing the load: each patient's messages go through exactly one worker."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from monitoring.ingest.ownership import WorkerShare
from monitoring.pipeline import Pipeline
from monitoring.storage.db import Database
from monitoring.storage.models import DeadLetter, Reading
from tests.factories import enrol, heart_rates, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline


def test_every_patient_has_exactly_one_owner() -> None:
    workers = [WorkerShare(i, 3) for i in range(3)]
    for _ in range(300):
        patient = uuid.uuid4()
        assert sum(w.owns(patient) for w in workers) == 1
    owners = [sum(w.owns(uuid.uuid4()) for _ in range(3000)) for w in workers]
    assert all(800 < n < 1200 for n in owners)  # roughly even
    assert sum(w.owns_key("NOT-REGISTERED-1") for w in workers) == 1


def test_a_partition_outside_the_count_is_refused() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        WorkerShare(2, 2)


@pytest.mark.integration
async def test_two_workers_store_each_message_once_and_acknowledge_all(database: Database) -> None:
    patients = [await enrol(database) for _ in range(12)]
    while len({p.patient_id.int % 2 for p in patients}) < 2:  # both workers must own someone
        patients.append(await enrol(database))
    readings = 2 * len(patients)
    batch = [inbound(p.serial, readings_payload(p.serial, 1, heart_rates([70, 71]))) for p in patients]
    batch.append(inbound("UNREGISTERED-1", readings_payload("UNREGISTERED-1", 1, heart_rates([70]))))
    workers: list[Pipeline] = []
    for index in range(2):
        worker = make_pipeline(database)
        worker.partition = WorkerShare(index, 2)
        workers.append(worker)
    results, acks = [], []
    for worker in workers:
        acked = Acks()
        results.append(await worker.process(batch, acked))
        acks.append(acked.acknowledged)
    assert acks == [batch, batch]
    assert sum(r.messages for r in results) == len(batch)
    assert all(r.messages + r.others == len(batch) for r in results)
    assert sum(r.stored for r in results) == readings
    assert all(r.stored > 0 for r in results)
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Reading)) == readings
        letters = (await session.execute(select(DeadLetter.device_serial))).scalars().all()
    assert letters == ["UNREGISTERED-1"]  # refused once, by the one worker that owns the key
    # Each worker's detectors saw only its own patients.
    for worker in workers:
        assert all(worker.partition.owns(p) for p in worker.engine.patients())
