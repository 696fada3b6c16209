"""The batching paho client against the real Mosquitto: every message whole, acknowledged ones gone.

Messages of mixed sizes (some near the 64 KiB contract limit, so packets span
the client's 64 KiB reads) must arrive byte for byte and in order; after a
reconnect on the same session only the messages that were not acknowledged
come back.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from benchmarks.wire import WirePublisher
from monitoring.config import MqttSettings
from monitoring.ingest.mqtt import MqttSource
from monitoring.ingest.records import Inbound
from tests.e2e.support import eventually
from tests.services import MQTT_URL, require_mosquitto

pytestmark = pytest.mark.asyncio


def _payloads(count: int, seed: int = 3) -> list[bytes]:
    rng = random.Random(seed)
    sizes = [rng.choice([40, 300, 5_000, 60_000]) for _ in range(count)]
    return [
        f"{i:08d}".encode() + bytes(rng.getrandbits(8) for _ in range(8)) * (size // 8)
        for i, size in enumerate(sizes)
    ]


async def _receive(source: MqttSource, count: int, timeout_s: float) -> list[Inbound]:
    got: list[Inbound] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        try:
            got += await asyncio.wait_for(source.next_batch(500, 0.01), timeout=0.5)
        except TimeoutError:
            continue
    return got


async def _started(settings: MqttSettings) -> MqttSource:
    source = MqttSource(settings)
    await source.start()
    await eventually(lambda: source.subscribed, timeout_s=10, what="the subscription")
    return source


# MQTT 3.1.1 has no receive maximum: Mosquitto sends such a client at most its max_inflight_messages
# (20 by default) unacknowledged QoS 1 messages, so that run holds 20.
@pytest.mark.parametrize(("protocol", "count"), [("5", 600), ("3.1.1", 20)])
async def test_mixed_sizes_arrive_whole_and_only_unacked_ones_return(protocol: str, count: int) -> None:
    require_mosquitto()
    tag = uuid.uuid4().hex[:10]
    settings = MqttSettings(
        url=MQTT_URL, client_id=f"paho-{tag}", topic_root=f"pc{tag}", session_expiry_s=60, protocol=protocol
    )
    topic = f"pc{tag}/v1/devices/DEV-1/readings".encode()
    payloads = _payloads(count)
    source = await _started(settings)
    publisher = WirePublisher("127.0.0.1", int(MQTT_URL.rsplit(":", 1)[1]), f"pub-{tag}")
    try:
        for start in range(0, len(payloads), 50):
            publisher.publish_many([(topic, p) for p in payloads[start : start + 50]])
        publisher.drain(timeout_s=20)
        assert publisher.acknowledged == len(payloads)
        got = await _receive(source, len(payloads), timeout_s=30)
        assert [m.payload for m in got] == payloads  # whole, in order, none twice
        assert {(m.topic, m.qos) for m in got} == {(topic.decode(), 1)}
        assert len({m.mid for m in got[:20]}) == 20
        acknowledged, left = got[::2], got[1::2]
        source.acknowledge(acknowledged)
        await asyncio.sleep(0.5)  # let the network thread write the PUBACKs
    finally:
        publisher.close()
        await source.stop()

    again = await _started(settings)
    try:
        redelivered = await _receive(again, len(left), timeout_s=30)
        await asyncio.sleep(1.0)
        redelivered += await _receive(again, 1, timeout_s=0.5)  # nothing more may come
        assert sorted(m.payload for m in redelivered) == sorted(m.payload for m in left)
        again.acknowledge(redelivered)
        await asyncio.sleep(0.5)
    finally:
        await again.stop()


async def test_mqtt5_properties_are_skipped_and_the_payload_is_intact() -> None:
    """A device publishing with MQTT 5 properties (content type, user properties, expiry)."""
    require_mosquitto()
    tag = uuid.uuid4().hex[:10]
    settings = MqttSettings(url=MQTT_URL, client_id=f"paho-{tag}", topic_root=f"pp{tag}", session_expiry_s=60)
    topic = f"pp{tag}/v1/devices/DEV-\u00e9/readings"  # a non-ASCII serial: UTF-8 on the wire
    source = await _started(settings)
    host, port = MQTT_URL.rsplit("//", 1)[-1].rsplit(":", 1)
    publisher = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{tag}", protocol=paho.MQTTv5)
    publisher.connect(host, int(port))
    publisher.loop_start()
    try:
        sent = []
        for i in range(20):
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.ContentType = "application/json"
            props.MessageExpiryInterval = 3600
            props.UserProperty = [("fw", "1.2." + "x" * (i * 20)), ("site", "A")]  # up to ~400 bytes
            payload = f'{{"i": {i}}}'.encode()
            publisher.publish(topic, payload, qos=1, properties=props).wait_for_publish(timeout=10)
            sent.append(payload)
        got = await _receive(source, len(sent), timeout_s=20)
        assert [(m.topic, m.payload) for m in got] == [(topic, p) for p in sent]
        source.acknowledge(got)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        await source.stop()


def _retained(topic: str, host: str, port: int, timeout_s: float = 1.5) -> list[bytes]:
    """What a new subscriber gets at once on ``topic``: its retained message, if the broker holds one."""
    got: list[bytes] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"look-{uuid.uuid4().hex[:8]}")
    client.on_message = lambda _c, _u, message: got.append(bytes(message.payload)) if message.retain else None
    client.connect(host, port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    time.sleep(timeout_s)
    client.loop_stop()
    client.disconnect()
    return got


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_a_retained_readings_message_is_stored_once_and_cleared_from_the_broker(protocol: str) -> None:
    """A device that retains its readings: no new ingestion session receives them again."""
    require_mosquitto()
    tag = uuid.uuid4().hex[:10]
    host, port = MQTT_URL.rsplit("//", 1)[-1].rsplit(":", 1)

    def settings(session: str) -> MqttSettings:
        return MqttSettings(
            url=MQTT_URL,
            client_id=f"rt-{session}-{tag}",
            topic_root=f"rt{tag}",
            session_expiry_s=60,
            protocol=protocol,
        )

    topic = f"rt{tag}/v1/devices/DEV-1/readings"
    first = await _started(settings("a"))
    device = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{tag}")
    device.connect(host, int(port))
    device.loop_start()
    try:
        device.publish(topic, b'{"retained": true}', qos=1, retain=True).wait_for_publish(timeout=10)
        live = await _receive(first, 1, timeout_s=10)
        assert [m.payload for m in live] == [b'{"retained": true}']  # the live delivery is stored
        first.acknowledge(live)
        later = []
        for session in ("b", "c"):  # new ingestion sessions, e.g. a worker added or its session expired
            source = await _started(settings(session))
            later += await _receive(source, 1, timeout_s=2)
            await source.stop()
        assert later == []
        assert await asyncio.to_thread(_retained, topic, host, int(port)) == []  # cleared on the broker
    finally:
        device.loop_stop()
        device.disconnect()
        await first.stop()
