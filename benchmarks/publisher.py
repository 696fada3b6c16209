"""A load-generator process: many simulated devices on one MQTT connection, at a fixed rate.

Load only: one connection publishes for a slice of the fleet (the shared test
broker has no per-device ACL), through a bare QoS 1 publisher (benchmarks.wire)
that writes each 10 ms burst at once, so the generator stays cheap next to the
pipeline it loads. Each message carries ``per_message`` heart rates spread
over the time since the device's previous message; every message is QoS 1
and counted when the broker acknowledges it.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue

from benchmarks.wire import WirePublisher
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
    client = WirePublisher(job.host, job.port, f"bench-load-{os.getpid()}")
    topics = {serial: readings_topic(serial, job.root).encode() for serial in job.serials}
    seqs = dict.fromkeys(job.serials, 0)
    # A device's message covers the time since its previous one, so its readings never overlap.
    interval = timedelta(seconds=len(job.serials) / job.rate)
    spacing = interval / job.per_message
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < job.duration_s:
        due = int(elapsed * job.rate) - client.sent
        now = datetime.now(UTC)
        first = now - interval + spacing
        burst = []
        for n in range(client.sent, client.sent + max(0, due)):
            serial = job.serials[n % len(job.serials)]
            seqs[serial] += 1
            readings = [
                Reading(
                    metric="heart_rate", unit="/min", at=first + spacing * i, value=float(rng.randint(60, 90))
                )
                for i in range(job.per_message)
            ]
            message = ReadingsMessage(device_id=serial, seq=seqs[serial], sent_at=now, readings=readings)
            burst.append((topics[serial], encode(message)))
        if burst:
            client.publish_many(burst)
        time.sleep(0.01)
    client.drain(timeout_s=60)
    client.close()
    times = os.times()
    results.put(
        Tally(
            client.sent, client.acknowledged, client.acknowledged * job.per_message, times.user + times.system
        )
    )
