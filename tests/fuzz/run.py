"""Run fuzzed messages, interleaved with good ones, through decode and attribution; account for each.

What must hold, batch after batch:
- nothing raises;
- every message is accounted for: refused whole (a dead letter with a specific
  code), stored (its readings), refused in part (a dead letter per bad reading),
  or applied as a device status;
- no refusal is the catch-all ``processing_failed``;
- every good message's readings are all there, whatever surrounds them.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from devices.contract import ErrorCode
from devices.kinds import metrics_of
from monitoring.ingest.intake import attribute, decode
from monitoring.ingest.records import Inbound
from monitoring.registry.records import DeviceRef
from tests.fuzz.mutations import KIND, OTHER, ROOT, SERIAL, bad_message, dump, good_message

DEVICES = {
    serial: DeviceRef(uuid4(), serial, uuid4(), "active", KIND, metrics_of(KIND))
    for serial in (SERIAL, OTHER)
}


@dataclass
class FuzzReport:
    messages: int = 0
    good: int = 0
    fuzzed: int = 0
    crashes: int = 0
    unaccounted: int = 0
    good_readings_missing: int = 0
    readings_stored: int = 0
    statuses: int = 0
    refused_messages: Counter[str] = field(default_factory=Counter)
    refused_readings: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        generic = self.refused_messages[ErrorCode.PROCESSING_FAILED.value]
        return not (self.crashes or self.unaccounted or self.good_readings_missing or generic)

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "good": self.good,
            "fuzzed": self.fuzzed,
            "crashes": self.crashes,
            "unaccounted": self.unaccounted,
            "good_readings_missing": self.good_readings_missing,
            "readings_stored": self.readings_stored,
            "statuses_applied": self.statuses,
            "refused_messages_by_code": dict(self.refused_messages.most_common()),
            "refused_readings_by_code": dict(self.refused_readings.most_common()),
            "seconds": round(self.seconds, 1),
            "messages_per_s": round(self.messages / self.seconds) if self.seconds else None,
            "ok": self.ok,
        }


def batches(count: int, seed: int, *, batch: int = 200, good_every: int = 4) -> Any:
    """Yield (inbound batch, received_at keys of the good messages, their expected reading counts)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for start in range(0, count, batch):
        inbound: list[Inbound] = []
        good: dict[datetime, int] = {}
        for i in range(start, min(start + batch, count)):
            at = now + timedelta(microseconds=i)  # unique per message: how outcomes are traced back
            if i % good_every == 0:
                message = good_message(rng, seq=i, now=now)
                inbound.append(Inbound(f"{ROOT}/v1/devices/{SERIAL}/readings", dump(message), at, mid=i))
                good[at] = len(message["readings"])
            else:
                topic, payload = bad_message(rng, i, now)
                inbound.append(Inbound(topic, payload, at, mid=i))
        yield inbound, good


def fuzz(count: int, seed: int = 1) -> FuzzReport:
    report = FuzzReport()
    began = time.perf_counter()
    for inbound, good in batches(count, seed):
        report.messages += len(inbound)
        report.good += len(good)
        report.fuzzed += len(inbound) - len(good)
        try:
            intake = attribute([decode(m, ROOT) for m in inbound], DEVICES)
        except Exception as error:  # noqa: BLE001 - what the fuzzer is looking for
            report.crashes += 1
            report.failures.append(f"batch from mid {inbound[0].mid}: {error!r}")
            continue
        outcomes: Counter[datetime] = Counter()
        for reading in intake.readings:
            outcomes[reading.received_at] += 1
        stored = Counter(outcomes)
        for letter in intake.dead_letters:
            outcomes[letter.received_at] += 1
            where = report.refused_messages if letter.reading_index is None else report.refused_readings
            where[letter.code.value] += 1
        report.readings_stored += len(intake.readings)
        report.statuses += len(intake.statuses)
        status_messages = sum(
            1 for m in inbound if m.topic.endswith("/status") and outcomes[m.received_at] == 0
        )
        report.unaccounted += max(0, status_messages - len(intake.statuses))
        for message in inbound:
            if outcomes[message.received_at] == 0 and not message.topic.endswith("/status"):
                report.unaccounted += 1
                report.failures.append(f"mid {message.mid} left no trace: {message.payload[:120]!r}")
        for at, expected in good.items():
            missing = expected - stored[at]
            if missing:
                report.good_readings_missing += missing
                report.failures.append(f"good message at {at} lost {missing} readings")
    report.seconds = time.perf_counter() - began
    return report
