"""The realistic cohort: the simulator's patients, their devices and what those send, warm.

Patients are drawn as the simulator draws them (``simulators.cohort``: its
mix of conditions, and each condition's devices: a wearable sending four
metrics each minute in ten-minute batches, a CGM every five minutes, cuffs,
meters, scales, oximeters and thermometers on their schedules), and each
device's messages are the simulator's, in the wire format, with its episodes
and artefacts. Time is compressed: the data starts 28 days ago (ingestion
refuses readings older than 30) and is sent as fast as the offered rate
allows, so every reading is in the past (alerts on it are marked late; the
detectors do the same work).

Warm state: the first ``WARM_DAYS`` of every patient's data is sent first,
the workers are stopped (each saves its detectors' checkpoints) and started
again (each restores them), and only then is the measured part sent: the
detectors are past their warm-up, as for patients monitored for days.

Each publisher process generates its slice of the devices before it sends
anything, so generation costs nothing in the measured window.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from benchmarks.publisher import Tally, collect
from benchmarks.wire import WirePublisher
from devices.contract import Metric, ReadingsMessage, encode, readings_topic
from monitoring.catalogue import SERIES_OF_METRIC
from monitoring.registry.manifest import ManifestPatient
from simulators.cohort import Cohort, build_cohort
from simulators.engine import DeviceRun, Send

WARM_DAYS = 2.2  # the personal baselines need two days and 30 readings in each hour's bin
SEED = 2026
Message = tuple[bytes, bytes, int]  # topic, payload, readings as stored (a blood pressure is two)


def cohort(patients: int, start: datetime) -> Cohort:
    return build_cohort(size=patients, start=start, days=30, seed=SEED, prefix="BENCH")


def start_of_data() -> datetime:
    return (datetime.now(UTC) - timedelta(days=28)).replace(microsecond=0)


def sends(of: Cohort, index: int, count: int, start: datetime, end: datetime) -> Iterator[Send]:
    """Slice ``index`` of ``count`` of the patients: what their devices send from ``start`` to ``end``, in
    time order (the simulator's own resends and presence messages left out)."""
    runs = [DeviceRun(p, d, of.seed).items(start, end) for p in of.patients[index::count] for d in p.devices]
    for item in heapq.merge(*runs, key=lambda item: item.at):
        if isinstance(item, Send) and not item.duplicate:
            yield item


def wire_message(item: Send) -> ReadingsMessage:
    """A send as its device puts it on the wire; the sequence follows the device's clock, so it keeps
    rising from one phase to the next."""
    return ReadingsMessage(
        device_id=item.serial, seq=int(item.at.timestamp()), sent_at=item.at, readings=list(item.readings)
    )


def messages(
    of: Cohort, root: str, index: int, count: int, start: datetime, end: datetime
) -> Iterator[Message]:
    """Slice ``index`` of ``count`` of the patients: their devices' messages from ``start`` to ``end``."""
    topics: dict[str, bytes] = {}
    for item in sends(of, index, count, start, end):
        if item.serial not in topics:
            topics[item.serial] = readings_topic(item.serial, root).encode()
        stored = sum(len(SERIES_OF_METRIC[Metric(reading.metric)]) for reading in item.readings)
        yield topics[item.serial], encode(wire_message(item)), stored


@dataclass(frozen=True)
class CohortJob:
    host: str
    port: int
    root: str
    patients: int
    start: datetime
    index: int
    count: int
    warm_rate: float  # messages per second from this process while warming
    rate: float  # messages per second from this process while measured
    duration_s: float  # of the measured part (its messages: rate x duration)


def _paced(client: WirePublisher, batch: list[Message], rate: float, most_s: float) -> tuple[int, int, float]:
    """Send ``batch`` at ``rate``, for at most ``most_s``; (acknowledged, their readings, CPU seconds)."""
    before = os.times()
    sent_before, acked_before = client.sent, client.acknowledged
    started = time.monotonic()
    done = 0
    while done < len(batch) and (elapsed := time.monotonic() - started) < most_s:
        due = min(len(batch), int(elapsed * rate) + 1)
        if due > done:
            client.publish_many([(topic, payload) for topic, payload, _ in batch[done:due]])
            done = due
        time.sleep(0.01)
    client.drain(timeout_s=120)
    acknowledged = client.acknowledged - acked_before
    readings = sum(n for _, _, n in batch[:done]) if acknowledged == client.sent - sent_before else 0
    after = os.times()
    return acknowledged, readings, (after.user + after.system) - (before.user + before.system)


def publish_cohort(
    job: CohortJob, ready: Queue[Tally], warmed: Queue[Tally], go: Event, results: Queue[Tally]
) -> None:
    """Generate the slice, send its warm part, wait for ``go``, send the measured part."""
    of = cohort(job.patients, job.start)
    middle = job.start + timedelta(days=WARM_DAYS)
    warm = list(messages(of, job.root, job.index, job.count, job.start, middle))
    budget = int(job.rate * job.duration_s)
    measured = []
    for message in messages(of, job.root, job.index, job.count, middle, job.start + timedelta(days=27)):
        measured.append(message)
        if len(measured) >= budget:
            break
    ready.put(Tally(len(warm), 0, sum(n for _, _, n in warm), 0.0))
    client = WirePublisher(job.host, job.port, f"bench-cohort-{os.getpid()}-warm")
    acknowledged, readings, cpu = _paced(client, warm, job.warm_rate, 3600)
    client.close()
    warmed.put(Tally(len(warm), acknowledged, readings, cpu))
    go.wait(timeout=1800)
    # A new connection: this one would have gone quiet past its keep-alive while the workers restarted.
    client = WirePublisher(job.host, job.port, f"bench-cohort-{os.getpid()}")
    acknowledged, readings, cpu = _paced(client, measured, job.rate, job.duration_s)
    client.close()
    results.put(Tally(len(measured), acknowledged, readings, cpu))


class CohortPublishers:
    """The publisher processes of a realistic run: generate, warm, then send the measured part."""

    def __init__(self, jobs: list[CohortJob]) -> None:
        context = multiprocessing.get_context("spawn")
        self.ready: Queue[Tally] = context.Queue()
        self.warmed: Queue[Tally] = context.Queue()
        self.results: Queue[Tally] = context.Queue()
        self.go = context.Event()
        self.processes = [
            context.Process(
                target=publish_cohort, args=(job, self.ready, self.warmed, self.go, self.results), daemon=True
            )
            for job in jobs
        ]

    @classmethod
    def spread(
        cls,
        host: str,
        ports: list[int],
        root: str,
        patients: int,
        start: datetime,
        count: int,
        *,
        warm_rate: float,
        rate: float,
        duration_s: float,
    ) -> CohortPublishers:
        """``count`` processes, each with a slice of the patients, on the cluster's nodes in turn."""
        return cls(
            [
                CohortJob(
                    host,
                    ports[i % len(ports)],
                    root,
                    patients,
                    start,
                    i,
                    count,
                    warm_rate / count,
                    rate / count,
                    duration_s,
                )  # fmt: skip
                for i in range(count)
            ]
        )

    def warm(self) -> list[Tally]:
        """Start the processes; return once each has sent its warm part (and the broker acknowledged it)."""
        for process in self.processes:
            process.start()
        generated = collect(self.ready, self.processes, timeout_s=1800)
        print(f"generated {sum(t.published for t in generated):,} warm-up messages; sending them")  # noqa: T201
        return collect(self.warmed, self.processes, timeout_s=3600)

    def measure(self) -> None:
        self.go.set()

    def tallies(self) -> list[Tally]:
        return collect(self.results, self.processes, timeout_s=600)


def manifest_patients(of: Cohort) -> list[ManifestPatient]:
    return [ManifestPatient.model_validate(patient) for patient in of.manifest()["patients"]]
