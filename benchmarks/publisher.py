"""A load-generator process: many simulated devices on one MQTT connection, at a fixed rate.

Load only: one connection publishes for a slice of the fleet (the shared test
broker has no per-device ACL), so the generator stays cheap next to the
pipeline it loads. Each message carries ``per_message`` heart rates spread
over the time since the device's previous message; every message is QoS 1
and counted when the broker acknowledges it.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from devices.contract import Reading, ReadingsMessage, encode, readings_topic


@dataclass(frozen=True)
class Job:
    host: str
    port: int
    root: str
    serials: list[str]
    rate: float  # messages per second from this process
    duration_s: float
    per_message: int
    seed: int


@dataclass(frozen=True)
class Tally:
    published: int
    acknowledged: int
    readings: int
    cpu_s: float


def publish(job: Job, results: Queue[Tally]) -> None:
    rng = random.Random(job.seed)
    acked = 0
    lock = threading.Lock()

    def on_publish(client: paho.Client, userdata: object, mid: int, reason: object, props: object) -> None:
        nonlocal acked
        with lock:
            acked += 1

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-load-{os.getpid()}", protocol=paho.MQTTv5
    )
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect(job.host, job.port)
    client.loop_start()
    topics = {serial: readings_topic(serial, job.root) for serial in job.serials}
    seqs = dict.fromkeys(job.serials, 0)
    # A device's message covers the time since its previous one, so its readings never overlap.
    interval = timedelta(seconds=len(job.serials) / job.rate)
    spacing = interval / job.per_message
    published = 0
    started = time.monotonic()
    step = 0.01
    while (elapsed := time.monotonic() - started) < job.duration_s:
        due = int(elapsed * job.rate) - published
        now = datetime.now(UTC)
        for _ in range(max(0, due)):
            serial = job.serials[published % len(job.serials)]
            seqs[serial] += 1
            first = now - interval + spacing
            readings = [
                Reading(
                    metric="heart_rate", unit="/min", at=first + spacing * i, value=float(rng.randint(60, 90))
                )
                for i in range(job.per_message)
            ]
            message = ReadingsMessage(device_id=serial, seq=seqs[serial], sent_at=now, readings=readings)
            client.publish(topics[serial], encode(message), qos=1)
            published += 1
        time.sleep(step)
    deadline = time.monotonic() + 60
    while acked < published and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    times = os.times()
    results.put(Tally(published, acked, acked * job.per_message, times.user + times.system))
