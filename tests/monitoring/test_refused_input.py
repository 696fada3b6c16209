"""What a device may put into the system: only its kind's metrics, and a bounded share of dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from devices.contract import ErrorCode, Reading, readings_topic
from monitoring.ingest.quota import DeadLetterBound
from monitoring.ingest.records import Inbound
from monitoring.observability import metrics
from monitoring.storage.db import Database
from monitoring.storage.models import DeadLetter, Device
from monitoring.storage.models import Reading as StoredReading
from tests.factories import enrol, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


async def test_a_wearable_cannot_report_a_patients_glucose(database: Database) -> None:
    watch = await enrol(database, kind="wearable")
    now = datetime.now(UTC)
    readings = [
        Reading(metric="glucose_cgm", unit="mg/dL", at=now, value=45),
        Reading(metric="heart_rate", unit="/min", at=now, value=72),
        Reading(metric="body_weight", unit="kg", at=now, value=80),
    ]
    result = await make_pipeline(database).process(
        [inbound(watch.serial, readings_payload(watch.serial, 1, readings))], Acks()
    )
    async with database.sessions() as session:
        stored = (await session.scalars(select(StoredReading.value))).all()
        letters = (await session.scalars(select(DeadLetter).order_by(DeadLetter.reading_index))).all()
    assert (result.stored, list(stored)) == (1, [72])  # the rest of the message is kept
    assert [(d.code, d.reading_index) for d in letters] == [
        (ErrorCode.METRIC_NOT_FOR_DEVICE.value, 0),
        (ErrorCode.METRIC_NOT_FOR_DEVICE.value, 2),
    ]
    assert "a wearable does not measure glucose_cgm" in letters[0].message
    assert json.loads(letters[0].payload)["metric"] == "glucose_cgm"


async def test_one_device_cannot_fill_the_dead_letter_store(database: Database) -> None:
    """2,000 junk messages of 60 KB from one device: a bounded number kept, the rest counted."""
    noisy, quiet = await enrol(database), await enrol(database)
    junk = b"{" + b"x" * 60_000
    per_hour = 100
    pipeline = make_pipeline(database)
    pipeline.dead_letter_bound = DeadLetterBound(per_hour=per_hour)
    counted_before = metrics.DEAD_LETTERS_UNSTORED.labels("malformed_json")._value.get()
    acks, topic, at = Acks(), readings_topic(noisy.serial), datetime.now(UTC)  # all within one hour
    for _ in range(10):  # batches, as the broker hands them over
        await pipeline.process([Inbound(topic, junk, at) for _ in range(200)], acks)
    # A well-behaved device in the same hour is not affected by its neighbour.
    await pipeline.process([Inbound(readings_topic(quiet.serial), b"not json", at)], acks)
    async with database.sessions() as session:
        kept = dict(
            (
                await session.execute(
                    select(DeadLetter.device_serial, func.count()).group_by(DeadLetter.device_serial)
                )
            ).all()
        )
        size = await session.scalar(select(func.sum(func.length(DeadLetter.payload))))
        marker = await session.scalar(
            select(DeadLetter).where(DeadLetter.code == ErrorCode.QUOTA_EXCEEDED.value)
        )
        device = await session.get(Device, noisy.device_id)
    assert len(acks.acknowledged) == 2001  # every message is done with, none redelivered forever
    assert (kept[noisy.serial], kept[quiet.serial]) == (per_hour + 1, 1)
    assert size is not None
    assert size <= (per_hour + 1) * 16 * 1024
    assert marker is not None
    assert "counted, not kept" in marker.message
    assert device is not None
    assert device.refused_unstored == 2000 - kept[noisy.serial]
    counted = metrics.DEAD_LETTERS_UNSTORED.labels("malformed_json")._value.get() - counted_before
    assert counted == device.refused_unstored
