"""A load-generator process: many simulated devices on one MQTT connection, at a fixed rate.

Load only: one connection publishes for a slice of the fleet (the shared test
broker has no per-device ACL), through a bare QoS 1 publisher (benchmarks.wire)
that writes each 10 ms burst at once, so the generator stays cheap next to the
pipeline it loads. Each message carries ``per_message`` heart rates spread
over the time since the device's previous message; every message is QoS 1
and counted when the broker acknowledges it.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.process import BaseProcess
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


class HeartRatePublishers:
    """The processes of a heart-rate run: each sends its job's devices' messages as it makes them."""

    def __init__(self, jobs: list[Job]) -> None:
        context = multiprocessing.get_context("spawn")
        self.results: Queue[Tally] = context.Queue()
        self.processes = [
            context.Process(target=publish, args=(job, self.results), daemon=True) for job in jobs
        ]

    def measure(self) -> None:
        for process in self.processes:
            process.start()

    def tallies(self) -> list[Tally]:
        return collect(self.results, self.processes, timeout_s=120)


def collect(results: Queue[Tally], processes: Sequence[BaseProcess], *, timeout_s: float) -> list[Tally]:
    """One tally from each process; fails at once if they have all exited and one never reported."""
    tallies: list[Tally] = []
    deadline = time.monotonic() + timeout_s
    while len(tallies) < len(processes):
        try:
            tallies.append(results.get(True, 1.0))
        except queue.Empty:
            if not any(process.is_alive() for process in processes):
                try:
                    tallies.append(results.get(True, 2.0))
                    continue
                except queue.Empty:
                    raise RuntimeError(
                        "a load generator exited without its figures (see its error above)"
                    ) from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"the load generators did not report within {timeout_s} s") from None
    for process in processes:
        process.join(10)
    return tallies
