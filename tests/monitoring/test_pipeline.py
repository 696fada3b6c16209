"""The pipeline against the real PostgreSQL, without a broker."""

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, func, select, text

from devices.contract import ErrorCode
from monitoring.catalogue import Series
from monitoring.detection.detectors.thresholds import ThresholdDetector
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import Finding
from monitoring.domain import Condition
from monitoring.ingest.directory import DeviceDirectory
from monitoring.pipeline import COPY_FROM_ROWS, EVALUATE_STEP
from monitoring.readings.records import StandardReading
from monitoring.storage.db import Database
from monitoring.storage.models import Alert, AlertEvent, DeadLetter, Device, Reading
from monitoring.worker import is_store_outage
from tests.factories import enrol, heart_rates, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


async def count(database: Database, model: type[object]) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """The SQL statements the application runs meanwhile (a COPY is not one of them)."""
    statements: list[str] = []

    def executed(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", executed)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", executed)


async def test_a_batch_is_stored_then_acknowledged(database: Database) -> None:
    patient = await enrol(database)
    pipeline = make_pipeline(database)
    batch = [inbound(patient.serial, readings_payload(patient.serial, 1, heart_rates([70, 71, 72])))]
    acks = Acks()
    result = await pipeline.process(batch, acks)
    assert (result.stored, result.duplicates, result.dead_letters) == (3, 0, 0)
    assert acks.acknowledged == batch
    assert await count(database, Reading) == 3


async def test_a_batch_of_readings_is_one_statement_that_also_marks_its_devices_seen(
    database: Database,
) -> None:
    """Readings alone are stored, and their devices' last seen time and sequence moved on: one round trip."""
    first, second = await enrol(database), await enrol(database)
    start = datetime.now(UTC) - timedelta(minutes=30)
    batch = [
        inbound(first.serial, readings_payload(first.serial, 7, heart_rates([70, 71], start=start))),
        inbound(second.serial, readings_payload(second.serial, 3, heart_rates([80], start=start))),
        inbound(
            first.serial,
            readings_payload(first.serial, 5, heart_rates([72], start=start + timedelta(minutes=10))),
        ),
    ]
    pipeline = make_pipeline(database)
    pipeline.directory = DeviceDirectory(database, ttl_s=600)  # as a worker's: it remembers devices
    await pipeline.directory.lookup({first.serial, second.serial})  # its query is not the store's
    with statements_run() as statements:
        stored = await pipeline.store(batch, Acks())
    assert len(stored.new) == 4
    assert len(statements) == 1, statements
    async with database.sessions() as session:
        rows = await session.execute(select(Device.serial, Device.last_seq))
        seen = {row[0]: row[1] for row in rows}
        last = await session.scalar(select(Device.last_seen_at).where(Device.serial == first.serial))
    assert (seen[first.serial], seen[second.serial]) == (7, 3), "the highest sequence of each device"
    assert last is not None
    assert last >= batch[0].received_at - timedelta(seconds=1)


async def test_redelivery_stores_nothing_twice_and_raises_no_second_alert(database: Database) -> None:
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE])
    pipeline = make_pipeline(database)
    payload = readings_payload(patient.serial, 1, heart_rates([80, 38, 36, 35, 37, 36]))
    first = await pipeline.process([inbound(patient.serial, payload)], Acks())
    # The broker redelivers the same message (e.g. the ack was lost in a crash), to a fresh process.
    again = await make_pipeline(database).process([inbound(patient.serial, payload)], Acks())
    assert (first.stored, again.stored, again.duplicates) == (6, 0, 6)
    assert await count(database, Reading) == 6
    async with database.sessions() as session:
        alerts = (await session.execute(select(Alert))).scalars().all()
    assert [(a.alert_type, a.status, a.occurrences) for a in alerts] == [
        ("threshold.heart_rate.low", "open", 1)
    ]
    assert alerts[0].explanation["threshold"]["limit"] == 45


class RecordingEngine(DetectionEngine):
    def __init__(self) -> None:
        super().__init__([ThresholdDetector()])
        self.evaluated: list[list[float]] = []

    def evaluate_ordered(self, readings: Sequence[StandardReading]) -> list[Finding]:
        self.evaluated.append([r.value for r in readings])
        return super().evaluate_ordered(readings)


async def test_only_the_new_readings_of_a_partly_stored_batch_reach_the_detectors(database: Database) -> None:
    patient = await enrol(database)
    pipeline = make_pipeline(database)
    pipeline.engine = engine = RecordingEngine()
    start = datetime.now(UTC) - timedelta(minutes=30)
    old = readings_payload(patient.serial, 1, heart_rates([70, 71, 72], start=start))
    await pipeline.process([inbound(patient.serial, old)], Acks())
    new = readings_payload(patient.serial, 2, heart_rates([73, 74], start=start + timedelta(minutes=3)))
    # The old message redelivered between two copies of a new one (a device's retry), in one batch.
    result = await pipeline.process([inbound(patient.serial, p) for p in (new, old, new)], Acks())
    assert (result.stored, result.duplicates) == (2, 5)
    assert engine.evaluated == [[70.0, 71.0, 72.0], [73.0, 74.0]]
    assert await count(database, Reading) == 5


async def test_a_large_batch_is_copied_and_its_devices_marked_seen(database: Database) -> None:
    """Under load a batch is stored with COPY: every reading, once, and the devices' progress recorded."""
    first, second = await enrol(database), await enrol(database)
    start = datetime.now(UTC) - timedelta(hours=12)
    values = [60.0 + i % 40 for i in range(COPY_FROM_ROWS)]
    batch = [
        inbound(first.serial, readings_payload(first.serial, 9, heart_rates(values, start=start))),
        inbound(second.serial, readings_payload(second.serial, 4, heart_rates(values[:10], start=start))),
    ]
    pipeline = make_pipeline(database)
    pipeline.engine = engine = RecordingEngine()
    with statements_run() as statements:
        result = await pipeline.process(batch, Acks())
    assert (result.stored, result.duplicates) == (COPY_FROM_ROWS + 10, 0)
    assert not [s for s in statements if "INSERT INTO readings" in s], "the batch went by COPY"
    async with database.sessions() as session:
        stored = (await session.execute(select(Reading.device_id, Reading.measured_at, Reading.value))).all()
        seqs = {row[0]: row[1] for row in await session.execute(select(Device.serial, Device.last_seq))}
    expected = {(first.device_id, r.at, r.value) for r in heart_rates(values, start=start)}
    expected |= {(second.device_id, r.at, r.value) for r in heart_rates(values[:10], start=start)}
    assert set(stored) == expected
    assert len(stored) == len(expected)
    assert (seqs[first.serial], seqs[second.serial]) == (9, 4)
    assert sorted(value for step in engine.evaluated for value in step) == sorted(values + values[:10])


async def test_a_large_batch_that_meets_stored_readings_stores_and_evaluates_only_the_new_ones(
    database: Database,
) -> None:
    """A COPY that meets a reading stored before stores nothing; the batch then goes the idempotent way."""
    patient = await enrol(database)
    start = datetime.now(UTC) - timedelta(hours=12)
    values = [60.0 + i % 40 for i in range(COPY_FROM_ROWS + 20)]
    old = readings_payload(patient.serial, 1, heart_rates(values[:20], start=start))
    pipeline = make_pipeline(database)
    pipeline.engine = engine = RecordingEngine()
    await pipeline.process([inbound(patient.serial, old)], Acks())
    large = readings_payload(patient.serial, 2, heart_rates(values, start=start))
    # Redelivered: the old message, and the large one twice in the same batch.
    result = await pipeline.process([inbound(patient.serial, p) for p in (large, old, large)], Acks())
    assert (result.stored, result.duplicates) == (COPY_FROM_ROWS, 20 + 20 + len(values))
    assert engine.evaluated == [values[:20], values[20:]], "each reading through the detectors once"
    assert await count(database, Reading) == len(values)
    # Redeliveries come in runs: for a while the next large batch goes the idempotent way at once.
    with statements_run() as statements:
        again = await pipeline.process([inbound(patient.serial, large)], Acks())
    assert (again.stored, again.duplicates) == (0, len(values))
    assert [s for s in statements if "INSERT INTO readings" in s]


async def test_a_malformed_message_is_dead_lettered_and_its_neighbours_stored(database: Database) -> None:
    patient = await enrol(database)
    serial = patient.serial
    batch = [
        inbound(serial, readings_payload(serial, 1, heart_rates([70], start=None))),
        inbound(serial, b"\x00\xffgarbage"),
        inbound("never-registered", readings_payload("never-registered", 1, heart_rates([70]))),
        inbound(serial, readings_payload(serial, 2, heart_rates([71, 999], step_s=7))),
    ]
    acks = Acks()
    result = await make_pipeline(database).process(batch, acks)
    assert result.stored == 2
    assert len(acks.acknowledged) == 4, "refused messages are acknowledged once dead-lettered"
    async with database.sessions() as session:
        letters = (await session.execute(select(DeadLetter).order_by(DeadLetter.id))).scalars().all()
    assert [(d.code, d.device_serial) for d in letters] == [
        (ErrorCode.MALFORMED_JSON, serial),
        (ErrorCode.DEVICE_UNKNOWN, "never-registered"),
        (ErrorCode.VALUE_IMPLAUSIBLE, serial),
    ]
    assert letters[0].payload == b"\x00\xffgarbage"
    assert letters[2].reading_index == 1
    assert "plausible" in letters[2].message


async def test_an_episode_that_recovers_clears_its_alert_with_events(database: Database) -> None:
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE])
    pipeline = make_pipeline(database)
    values = [80, 38, 36, 35, 37, 36, 60, 62, 61, 63, 60]
    await pipeline.process(
        [inbound(patient.serial, readings_payload(patient.serial, 1, heart_rates(values)))], Acks()
    )
    async with database.sessions() as session:
        alert = (await session.execute(select(Alert))).scalar_one()
        events = (await session.execute(select(AlertEvent.kind).order_by(AlertEvent.id))).scalars().all()
    assert alert.cleared_at is not None
    assert alert.status == "open", "clearing records recovery; a person still closes the alert"
    assert list(events) == ["opened", "cleared"]


async def test_alerts_can_be_configured_to_resolve_when_their_episode_ends(database: Database) -> None:
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE])
    pipeline = make_pipeline(database, resolve_on_clear=True)
    values = [80, 38, 36, 35, 37, 36, 60, 62, 61, 63, 60]
    await pipeline.process(
        [inbound(patient.serial, readings_payload(patient.serial, 1, heart_rates(values)))], Acks()
    )
    async with database.sessions() as session:
        alert = (await session.execute(select(Alert))).scalar_one()
        events = (await session.execute(select(AlertEvent.kind).order_by(AlertEvent.id))).scalars().all()
    assert (alert.status, alert.resolved_at is not None, alert.cleared_at is not None) == (
        "resolved",
        True,
        True,
    )
    assert list(events) == ["opened", "resolved"]


async def test_an_alert_whose_write_fails_is_written_when_the_batch_is_retried(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database drops between storing a batch and writing its alert (the fault suite found this)."""
    import monitoring.pipeline as pipeline_module
    from monitoring.detection.checkpoints import Checkpointer

    patient = await enrol(database, conditions=[Condition.HEART_FAILURE])
    pipeline = make_pipeline(database)
    checkpoints = Checkpointer(pipeline.engine, database, hold=lambda: pipeline.has_unwritten)
    batch = [
        inbound(patient.serial, readings_payload(patient.serial, 1, heart_rates([80, 38, 36, 35, 37, 36])))
    ]
    real_apply = pipeline_module.apply_findings  # type: ignore[attr-defined]

    async def outage(**kwargs: object) -> object:
        raise ConnectionRefusedError("the database went away")

    monkeypatch.setattr(pipeline_module, "apply_findings", outage)
    with pytest.raises(ConnectionRefusedError):
        await pipeline.process(batch, Acks())
    assert await count(database, Reading) == 6
    assert await count(database, Alert) == 0
    assert pipeline.has_unwritten
    assert await checkpoints.save() == 0, "no state is saved past a finding not yet written"

    monkeypatch.setattr(pipeline_module, "apply_findings", real_apply)
    retried = await pipeline.process(batch, Acks())  # what the ingestion loop does after an outage
    assert (retried.stored, retried.duplicates) == (0, 6)
    async with database.sessions() as session:
        alerts = (await session.execute(select(Alert))).scalars().all()
    assert [(a.alert_type, a.status) for a in alerts] == [("threshold.heart_rate.low", "open")]
    assert not pipeline.has_unwritten
    assert await checkpoints.save() == 1


async def test_a_large_batch_gives_the_event_loop_back_between_steps_of_detection(database: Database) -> None:
    """Lease renewals and in-progress marks ride the same loop: a batch must not hold it throughout."""
    patient = await enrol(database)
    pipeline = make_pipeline(database)
    pipeline.engine = engine = RecordingEngine()
    start = datetime.now(UTC) - timedelta(days=3)
    now = datetime.now(UTC)
    total = 3 * EVALUATE_STEP + 1
    new = [
        StandardReading(
            patient_id=patient.patient_id,
            device_id=patient.device_id,
            series=Series.HEART_RATE,
            measured_at=start + timedelta(seconds=60 * i),
            value=70.0 + i % 5,
            seq=i,
            received_at=now,
        )
        for i in reversed(range(total))  # out of order: detection sorts the whole batch first
    ]
    seen_between_steps: list[tuple[int, bool]] = []
    finished = False

    async def other_work() -> None:
        while not finished:
            if 0 < len(engine.evaluated) < 4:
                seen_between_steps.append((len(engine.evaluated), pipeline.has_unwritten))
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await pipeline.detect(new)
    finished = True
    await other
    assert [len(step) for step in engine.evaluated] == [EVALUATE_STEP] * 3 + [1]
    evaluated = [value for step in engine.evaluated for value in step]
    assert evaluated == [70.0 + i % 5 for i in range(total)], "in measurement order across steps"
    assert sorted(set(seen_between_steps)) == [(1, True), (2, True), (3, True)], (
        "other work ran between every two steps, and a checkpoint would have waited"
    )
    assert not pipeline.has_unwritten


async def test_a_copy_cut_off_with_its_connection_is_an_outage_to_retry(database: Database) -> None:
    """The worker retries a batch whose COPY lost its connection, on a fresh one; nothing is lost."""
    patient = await enrol(database)
    start = datetime.now(UTC) - timedelta(hours=12)
    values = [60.0 + i % 40 for i in range(COPY_FROM_ROWS)]
    pipeline = make_pipeline(database)
    small = readings_payload(patient.serial, 1, heart_rates([70.0], start=start - timedelta(hours=1)))
    await pipeline.process([inbound(patient.serial, small)], Acks())  # the pool holds a connection now
    async with database.sessions() as session:
        ended = await session.scalar(
            text(
                "WITH others AS MATERIALIZED (SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()) "
                "SELECT array_agg(pid) FROM others WHERE pg_terminate_backend(pid)"
            )
        )
        for _ in range(100):  # until the server has closed them (a terminate only signals)
            alive = await session.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:ended)"), {"ended": ended}
            )
            if not alive:
                break
            await asyncio.sleep(0.05)
    large = [inbound(patient.serial, readings_payload(patient.serial, 2, heart_rates(values, start=start)))]
    with pytest.raises(ConnectionError) as cut:
        await pipeline.store(large, Acks())
    assert is_store_outage(cut.value), repr(cut.value)
    retried = await pipeline.store(large, Acks())
    assert len(retried.new) == COPY_FROM_ROWS
    assert await count(database, Reading) == COPY_FROM_ROWS + 1
