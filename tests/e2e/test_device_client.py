"""Store-and-forward against the real Mosquitto: a killed client loses nothing and sends in order."""

import asyncio
import threading
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from devices.client import DeviceClient
from devices.contract import ReadingsMessage, subscription
from devices.outbox import Outbox
from monitoring.storage.db import Database
from monitoring.storage.models import Reading
from tests.e2e.support import Broker, eventually, ingestion, stored_readings
from tests.factories import enrol, heart_rates

pytestmark = pytest.mark.e2e

MESSAGES = 200


class Listener:
    """A plain MQTT subscriber that notes the sequence numbers in arrival order."""

    def __init__(self, broker: Broker) -> None:
        import msgspec

        self.seqs: list[int] = []
        self._lock = threading.Lock()
        decoder = msgspec.json.Decoder(ReadingsMessage)
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"listen-{broker.client_id}")
        subscribed = threading.Event()

        def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
            with self._lock:
                self.seqs.append(decoder.decode(message.payload).seq)

        self.client.on_message = on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        address = broker.address()
        self.client.connect(address.host, address.port)
        self.client.subscribe(subscription("readings", broker.topic_root), qos=1)
        self.client.loop_start()
        assert subscribed.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def client_for(broker: Broker, serial: str, path: Path) -> DeviceClient:
    return DeviceClient(
        serial, broker.address(), Outbox(path), kind="wearable", root=broker.topic_root, window=8
    )


async def test_a_client_killed_mid_stream_delivers_everything_once_in_order_after_restart(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    patient = await enrol(database)
    outbox_path = tmp_path / "outbox.db"
    readings = heart_rates([60 + i % 40 for i in range(MESSAGES * 2)], step_s=1)
    listener = await asyncio.to_thread(Listener, broker)
    try:
        async with ingestion(database, broker):
            first = client_for(broker, patient.serial, outbox_path)
            for i in range(MESSAGES):
                first.record(readings[2 * i : 2 * i + 2])
            first.start()
            await eventually(lambda: len(listener.seqs) >= MESSAGES // 4, what="part of the stream")
            # Killed: no goodbye, whatever is in flight or waiting stays in the outbox file.
            await asyncio.to_thread(first.stop, goodbye=False)
            first.close()
            left = len(Outbox(outbox_path))
            assert 0 < left < MESSAGES, "the kill happened mid-stream"

            second = client_for(broker, patient.serial, outbox_path)
            second.start()
            assert await asyncio.to_thread(second.flush, 20)
            await eventually(lambda: _stored(database, MESSAGES * 2), what="every reading stored")
            await asyncio.to_thread(second.stop)
            second.close()
        assert await stored_readings(database) == MESSAGES * 2
    finally:
        listener.close()
    first_arrivals = list(dict.fromkeys(listener.seqs))
    assert first_arrivals == list(range(MESSAGES)), "each message first arrives in sequence order"


async def test_a_dropout_queues_readings_and_the_backlog_drains_with_original_times(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    patient = await enrol(database)
    async with ingestion(database, broker):
        client = client_for(broker, patient.serial, tmp_path / "o.db")
        client.start()
        await eventually(lambda: client.connected, what="connection")
        client.go_offline()
        await eventually(lambda: not client.connected, what="dropout")
        backlog = heart_rates([70, 71, 72, 73], step_s=300)
        for reading in backlog:
            client.record([reading])
        await asyncio.sleep(0.3)
        assert client.pending == 4
        client.go_online()
        assert await asyncio.to_thread(client.flush, 20)
        await eventually(lambda: _stored(database, 4), what="the backlog")
        await asyncio.to_thread(client.stop)
        client.close()
    assert client.connections >= 2
    async with database.sessions() as session:
        times = (
            (await session.execute(select(Reading.measured_at).order_by(Reading.measured_at))).scalars().all()
        )
    assert list(times) == [r.at for r in backlog]


async def _stored(database: Database, n: int) -> bool:
    return await stored_readings(database) >= n
