"""``python -m benchmarks.stages``: what each step of ingestion costs per message and per reading.

    python -m benchmarks.stages [--messages 20000] [--devices 2000] [--per-message 5] [--no-store]
                                [--metric heart_rate|glucose_cgm]
    python -m benchmarks.stages --cohort realistic [--patients 40] [--hours 12] [--by-detector]

The end-to-end benchmark says how fast the whole system goes; this one says
where a worker's time goes, without a broker, so that an optimisation can be
measured on its own before and after. The messages are the load generator's
(heart rates from wearables, a reading a minute) or CGM readings (every five
minutes, glucose that rises and falls as over a day), or with ``--cohort realistic`` the
simulator's patients and devices with their detectors already warm (``benchmarks.stages_cohort``);
each step runs over all of them in turn, on one core, and the figures are CPU microseconds
(process time). ``--by-detector`` also says how the detect step splits between the signal gate
and each detector (the timers add their own cost to the total). The store step
writes to a scratch database ``rpm_stages`` on the PostgreSQL under test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from benchmarks.cohort import fresh_database
from benchmarks.procstat import resident_mib
from benchmarks.stages_cohort import digest, workload
from devices.contract import Reading, ReadingsMessage, encode, readings_topic
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.lineup import default_detectors
from monitoring.domain import Condition, DeviceState
from monitoring.ingest.intake import attribute, decode
from monitoring.ingest.records import Inbound
from monitoring.pipeline import COPY_FROM_ROWS, EVALUATE_STEP
from monitoring.readings import store_repository as writes
from monitoring.readings.records import StandardReading
from monitoring.registry.careplans import CarePlan, default_thresholds
from monitoring.registry.records import DeviceRef
from monitoring.storage.db import Database

ROOT = "bench"
SCRATCH = "rpm_stages"
T = TypeVar("T")


def _value(metric: str, rng: random.Random, device: int, at: datetime) -> float:
    if metric == "heart_rate":
        return float(rng.randint(60, 90))
    phase = 2 * math.pi * (at.timestamp() / 86400 * 3 + device / 97)  # three swings a day
    return round(125 + 55 * math.sin(phase) + rng.gauss(0, 2), 1)


def messages(
    count: int, devices: int, per_message: int, seed: int = 7, metric: str = "heart_rate"
) -> list[Inbound]:
    """``count`` messages round-robin over ``devices``, each covering the time since its previous one."""
    rng = random.Random(seed)
    spacing = timedelta(seconds=60 if metric == "heart_rate" else 300)
    unit = "/min" if metric == "heart_rate" else "mg/dL"
    start = datetime.now(UTC) - spacing * per_message * (count // devices + 2)
    out: list[Inbound] = []
    for i in range(count):
        serial = f"STAGE-{i % devices:06d}"
        first = start + spacing * per_message * (i // devices)
        message = ReadingsMessage(
            device_id=serial,
            seq=i // devices + 1,
            sent_at=first + spacing * per_message,
            readings=[
                Reading(
                    metric=metric,
                    unit=unit,
                    at=first + spacing * k,
                    value=_value(metric, rng, i % devices, first + spacing * k),
                )
                for k in range(per_message)
            ],
        )
        received = first + spacing * per_message + timedelta(milliseconds=50)
        out.append(Inbound(readings_topic(serial, ROOT), encode(message), received, mid=i % 65535 + 1))
    return out


def timed(step: Callable[[], T]) -> tuple[T, float]:
    started = time.process_time()
    result = step()
    return result, time.process_time() - started


async def store(rows: list[StandardReading], admin_url: str, batch: int) -> float:
    """CPU seconds this process spends storing ``rows`` in batches (the server's share is not counted),
    as the pipeline stores readings alone: with COPY from ``COPY_FROM_ROWS`` readings a batch."""
    database = Database(await fresh_database(admin_url, SCRATCH))
    try:
        started = time.process_time()
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            async with database.single_statement() as session:
                if len(chunk) >= COPY_FROM_ROWS:
                    assert await writes.copy_new(session=session, rows=chunk)
                else:
                    assert len(await writes.insert_new(session=session, rows=chunk)) == len(chunk)
        return time.process_time() - started
    finally:
        await database.dispose()


def render(figures: dict[str, float], messages: int, readings: int, devices: int) -> str:
    lines = [f"{messages:,} messages, {readings:,} readings, {devices:,} devices (CPU time of this process)"]
    for name, seconds in [*figures.items(), ("total", sum(figures.values()))]:
        per_message, per_reading = seconds * 1e6 / messages, seconds * 1e6 / readings
        lines.append(f"  {name:<26} {per_message:8.1f} us/message {per_reading:8.1f} us/reading")
    return "\n".join(lines)


class StepClock:
    """CPU time per detector (and the signal gate), by wrapping each one's entry point on the instance."""

    def __init__(self, engine: DetectionEngine) -> None:
        self.seconds: dict[str, float] = {}
        self._wrap(engine.gate, "assess", "signal gate")
        for detector in engine.detectors:
            self._wrap(detector, "observe", detector.name)

    def _wrap(self, target: object, method: str, name: str) -> None:
        inner = getattr(target, method)
        self.seconds[name] = 0.0
        clock = time.process_time

        def timed(*args: object) -> object:
            started = clock()
            try:
                return inner(*args)
            finally:
                self.seconds[name] += clock() - started

        setattr(target, method, timed)

    def render(self, readings: int) -> str:
        lines = ["  detect, by part (timers included):"]
        for name, seconds in sorted(self.seconds.items(), key=lambda item: -item[1]):
            lines.append(f"    {name:<24} {seconds * 1e6 / readings:8.2f} us/reading")
        return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=2_000)
    parser.add_argument("--per-message", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2_000, help="readings per store transaction")
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-store", action="store_true", help="skip the database step")
    parser.add_argument("--metric", choices=("heart_rate", "glucose_cgm"), default="heart_rate")
    parser.add_argument(
        "--cohort",
        choices=("generated", "realistic"),
        default="generated",
        help="generated: --messages of one --metric; realistic: the simulator's patients, warm",
    )
    parser.add_argument("--patients", type=int, default=40, help="realistic cohort: patients")
    parser.add_argument("--hours", type=float, default=12.0, help="realistic cohort: hours of data measured")
    parser.add_argument("--by-detector", action="store_true", help="split the detect step by detector")
    args = parser.parse_args()
    if not 1 <= args.messages <= 1_000_000:
        parser.error("--messages must be 1..1000000")
    if not (1 <= args.patients <= 2_000 and 0 < args.hours <= 24 * 20):
        parser.error("--patients must be 1..2000 and --hours 0..480")
    engine = DetectionEngine(default_detectors())
    if args.cohort == "realistic":
        work = workload(args.patients, args.hours, ROOT)
        batch, devices, population = work.measured, work.devices, args.patients
        work.install(engine)
        warm = attribute([decode(m, ROOT) for m in work.warm], devices).readings
        for i in range(0, len(warm), EVALUATE_STEP):
            engine.evaluate(warm[i : i + EVALUATE_STEP])
        print(f"warmed {args.patients} patients with {len(warm):,} readings")  # noqa: T201
    else:
        batch = messages(args.messages, args.devices, args.per_message, metric=args.metric)
        serials = {f"STAGE-{i:06d}" for i in range(args.devices)}
        devices = {s: DeviceRef(uuid.uuid4(), s, uuid.uuid4(), DeviceState.ACTIVE) for s in serials}
        population = args.devices
        condition = Condition.HYPERTENSION if args.metric == "heart_rate" else Condition.TYPE1_DIABETES
        plan = CarePlan(frozenset({condition}), tuple(default_thresholds({condition}).values()))
        for device in devices.values():
            assert device.patient_id is not None
            engine.set_care_plan(device.patient_id, plan)
    decoded, decode_s = timed(lambda: [decode(m, ROOT) for m in batch])
    intake, attribute_s = timed(lambda: attribute(decoded, devices))
    rows = intake.readings
    clock = StepClock(engine) if args.by_detector else None
    step = EVALUATE_STEP  # as a worker feeds its detectors
    gc.collect()
    resident = resident_mib(os.getpid())
    found, detect_s = timed(
        lambda: [f for i in range(0, len(rows), step) for f in engine.evaluate(rows[i : i + step])]
    )
    gc.collect()
    state_kib = (resident_mib(os.getpid()) - resident) * 1024 / population
    figures = {
        "decode": decode_s,
        "attribute + standardise": attribute_s,
        "detect": detect_s,
    }
    if not args.no_store:
        figures["store (client side)"] = asyncio.run(store(rows, args.database_url, args.batch))
    print(render(figures, len(batch), len(rows), len(devices)))  # noqa: T201 - the command's output
    if clock is not None:
        print(clock.render(len(rows)))  # noqa: T201
    print(f"  findings: {len(found):,}, digest {digest(found)}")  # noqa: T201
    if args.cohort == "realistic":  # memory grew with the warm-up; what a checkpoint keeps instead
        saved = sum(len(json.dumps(engine.snapshot(p))) for p in engine.patients()) / len(engine.patients())
        print(f"  detector state: {saved / 1024:.1f} KiB per patient as checkpointed (JSON)")  # noqa: T201
        return 0
    print(  # noqa: T201
        f"  detector state: {state_kib:.1f} KiB per patient after {len(rows) // population} readings each "
        f"(resident memory growth), {state_kib * 10_000 / 1024**2:.2f} GiB for 10,000 patients"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
