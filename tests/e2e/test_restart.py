"""Nothing is lost and nothing is stored twice when ingestion stops, crashes and restarts."""

import asyncio

import pytest

from devices.contract import Reading
from monitoring.storage.db import Database
from tests.e2e.support import Broker, eventually, ingestion, stored_readings
from tests.factories import enrol, heart_rates

pytestmark = pytest.mark.e2e

# Below Mosquitto's default max_queued_messages (1000) for an offline session.
MESSAGES = 300
PER_MESSAGE = 4


def batches(count: int) -> list[list[Reading]]:
    values = [60 + (i % 30) for i in range(count * PER_MESSAGE)]
    readings = heart_rates(values, step_s=1)
    return [readings[i : i + PER_MESSAGE] for i in range(0, len(readings), PER_MESSAGE)]


def publish_all(broker: Broker, serial: str, messages: list[list[Reading]]) -> None:
    device = broker.device(serial)
    try:
        for readings in messages:
            device.record(readings)
        assert device.flush(60), "the broker took every message"
    finally:
        device.stop()
        device.close()


async def test_messages_published_while_ingestion_is_down_are_stored_exactly_once(
    database: Database, broker: Broker
) -> None:
    patient = await enrol(database)
    async with ingestion(database, broker):
        pass  # the first connection creates the persistent session and its subscriptions

    await asyncio.to_thread(publish_all, broker, patient.serial, batches(MESSAGES))
    assert await stored_readings(database) == 0

    async with ingestion(database, broker) as service:
        expected = MESSAGES * PER_MESSAGE
        await eventually(lambda: _stored(database, expected), what=f"{expected} readings")
        await asyncio.sleep(0.5)  # anything extra would arrive now
    assert await stored_readings(database) == expected
    assert service.stats.duplicates == 0
    assert service.stats.stored == expected


async def test_messages_stored_but_never_acknowledged_are_redelivered_and_not_duplicated(
    database: Database, broker: Broker
) -> None:
    patient = await enrol(database)
    expected = 50 * PER_MESSAGE
    # This process stores everything, then "dies" before any acknowledgement reaches the broker.
    async with ingestion(database, broker, acknowledge=False):
        await asyncio.to_thread(publish_all, broker, patient.serial, batches(50))
        await eventually(lambda: _stored(database, expected), what="the first delivery")

    async with ingestion(database, broker) as service:
        await eventually(lambda: service.stats.duplicates >= expected, what="the redelivery")
    assert await stored_readings(database) == expected


async def _stored(database: Database, n: int) -> bool:
    return await stored_readings(database) >= n
