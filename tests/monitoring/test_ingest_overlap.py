"""The ingestion loop stores the next batch while the one before it is in detection, and keeps order.

Against the real PostgreSQL; the batches come from a queue in memory (the
brokers' own paths are covered in tests/e2e and tests/faults).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from devices.contract import ErrorCode
from monitoring.config import IngestSettings
from monitoring.ingest.records import Inbound
from monitoring.ingest.source import gather_batch, oldest
from monitoring.pipeline import Acknowledge, BatchResult, Pipeline, Stored
from monitoring.storage.db import Database
from monitoring.storage.models import DeadLetter
from monitoring.worker import IngestService
from tests.e2e.support import eventually
from tests.factories import enrol, heart_rates, readings_payload
from tests.pipeline_support import inbound, make_pipeline

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC).replace(microsecond=0)  # message n arrived n seconds after this


class QueuedSource:
    """Batches waiting in memory, as a broker session would hold them."""

    host, port = "memory", 0
    connected = subscribed = True

    def __init__(self, messages: Sequence[Inbound]) -> None:
        self.pending: deque[Inbound] = deque(messages)
        self.acknowledged: list[int] = []
        self._never = asyncio.Event()  # nothing arrives after the test's messages

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def next_batch(self, max_size: int, flush_s: float) -> list[Inbound]:
        while not self.pending:
            await self._never.wait()
        return await gather_batch(self.pending, max_size, flush_s)

    def oldest_pending(self) -> datetime | None:
        return oldest(self.pending)

    def acknowledge(self, batch: Sequence[Inbound]) -> None:
        self.acknowledged.extend(number(m) for m in batch)


def number(message: Inbound) -> int:
    """Which message of the test this is (each arrived a second after the one before)."""
    return int((message.received_at - T0).total_seconds())


class Recorded:
    """Wraps a pipeline's two stages, noting when each begins and ends and what is unevaluated then."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.events: list[tuple[str, int]] = []
        self.unevaluated: dict[int, datetime | None] = {}
        self.service: IngestService | None = None
        self.first_store_may_end = asyncio.Event()
        self.first_store_may_end.set()
        store, evaluate = pipeline.store, pipeline.evaluate

        async def recorded_store(batch: Sequence[Inbound], acknowledge: object) -> Stored:
            n = number(batch[0])
            self.events.append(("store begins", n))
            if n == 1:
                await self.first_store_may_end.wait()
            stored = await store(batch, acknowledge)  # type: ignore[arg-type]
            self.events.append(("store ends", n))
            return stored

        async def recorded_evaluate(stored: Stored) -> BatchResult:
            n = number(stored.batch[0])
            self.events.append(("evaluate begins", n))
            assert self.service is not None
            self.unevaluated[n] = self.service.unevaluated_since()
            result = await evaluate(stored)
            self.events.append(("evaluate ends", n))
            return result

        pipeline.store = recorded_store  # type: ignore[method-assign]
        pipeline.evaluate = recorded_evaluate  # type: ignore[method-assign]

    def at(self, event: str, n: int) -> int:
        return self.events.index((event, n))


async def _messages(database: Database, count: int) -> list[Inbound]:
    patient = await enrol(database)
    start = T0 - timedelta(hours=2)
    messages = []
    for n in range(1, count + 1):
        values = heart_rates([70 + n] * 3, start=start + timedelta(minutes=3 * n))
        message = inbound(patient.serial, readings_payload(patient.serial, n, values))
        messages.append(
            Inbound(topic=message.topic, payload=message.payload, received_at=T0 + timedelta(seconds=n))
        )
    return messages


async def _set_up(
    database: Database, messages: int, max_batch: int
) -> tuple[QueuedSource, Pipeline, Recorded, IngestService]:
    """``messages`` queued, one patient's heart rates each; batches of at most ``max_batch``."""
    source = QueuedSource(await _messages(database, messages))
    pipeline = make_pipeline(database)
    recorded = Recorded(pipeline)
    settings = IngestSettings(max_batch=max_batch, flush_ms=0)
    service = recorded.service = IngestService(source, pipeline, settings)
    return source, pipeline, recorded, service


@asynccontextmanager
async def _running(service: IngestService) -> AsyncIterator[None]:
    """The ingestion loop runs until the block ends."""
    task = asyncio.create_task(service.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_next_batch_is_stored_while_the_one_before_is_in_detection(database: Database) -> None:
    source, _, recorded, service = await _set_up(database, messages=3, max_batch=1)
    async with _running(service):
        await eventually(lambda: service.stats.batches == 3, timeout_s=20, what="three batches through")
    at = recorded.at
    for n in (1, 2):
        assert at("store begins", n + 1) < at("evaluate ends", n), "stored while the one before is evaluated"
        assert at("evaluate begins", n + 1) > at("evaluate ends", n), "evaluated only after the one before"
        assert at("evaluate begins", n + 1) > at("store ends", n + 1)
    assert source.acknowledged == [1, 2, 3]
    assert [n for event, n in recorded.events if event == "evaluate ends"] == [1, 2, 3]
    # A checkpoint taken meanwhile is stamped with the oldest batch not yet through detection.
    assert recorded.unevaluated == {n: T0 + timedelta(seconds=n) for n in (1, 2, 3)}
    assert service.unevaluated_since() is None
    assert service.stats.stored == 9


async def test_a_hand_over_waits_for_the_batches_in_flight_and_stops_more_being_taken(
    database: Database,
) -> None:
    source, _, recorded, service = await _set_up(database, messages=5, max_batch=1)
    recorded.first_store_may_end.clear()
    seen: list[tuple[int, datetime | None, int]] = []

    async def hand_over() -> None:
        async with service.between_batches():
            seen.append((service.stats.batches, service.unevaluated_since(), len(source.pending)))

    async with _running(service):
        await eventually(lambda: ("store begins", 1) in recorded.events, timeout_s=20, what="the first store")
        handing_over = asyncio.create_task(hand_over())
        await asyncio.sleep(0.05)
        assert not seen, "the first batch is still being stored"
        recorded.first_store_may_end.set()
        await asyncio.wait_for(handing_over, timeout=20)
        await eventually(
            lambda: service.stats.batches == 5, timeout_s=20, what="the rest after the hand-over"
        )
    # Batch 1 was through detection and nothing else was: batch 2, taken meanwhile, waited (and
    # counted in a checkpoint's watermark), the other three were still queued.
    assert seen == [(1, T0 + timedelta(seconds=2), 3)]
    assert source.acknowledged == [1, 2, 3, 4, 5]


async def test_a_batch_that_fails_is_taken_one_message_at_a_time_after_the_one_before(
    database: Database,
) -> None:
    """A message the service fails on (the database is not away) is dead-lettered; the rest are stored."""
    source, pipeline, recorded, service = await _set_up(database, messages=6, max_batch=3)
    recorded_store = pipeline.store

    async def failing_on_4(batch: Sequence[Inbound], acknowledge: Acknowledge) -> Stored:
        if any(number(m) == 4 for m in batch):
            raise ValueError("a bug the fourth message trips")
        return await recorded_store(batch, acknowledge)

    pipeline.store = failing_on_4  # type: ignore[method-assign]
    async with _running(service):
        await eventually(lambda: len(source.acknowledged) == 6, timeout_s=20, what="all acknowledged")
    evaluated = [n for event, n in recorded.events if event == "evaluate ends"]
    assert evaluated == [1, 5, 6], "batch 1-3, then 5 and 6 alone, in order; 4 never reached detection"
    assert source.acknowledged == [1, 2, 3, 4, 5, 6], "4 once its dead letter is stored"
    assert (service.stats.stored, service.stats.dead_letters) == (15, 1)
    async with database.sessions() as session:
        letters = (await session.execute(select(DeadLetter))).scalars().all()
    assert [(d.code, "fourth message trips" in d.message) for d in letters] == [
        (ErrorCode.PROCESSING_FAILED, True)
    ]
    assert service.unevaluated_since() is None
