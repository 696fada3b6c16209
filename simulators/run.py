"""Plays a cohort's stream into a sink, as fast as possible or paced against the clock."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from devices.contract import MAX_READINGS_PER_MESSAGE
from simulators.cohort import Cohort
from simulators.engine import Item, Send, stream
from simulators.sinks import Sink


@dataclass(slots=True)
class RunStats:
    messages: int = 0
    readings: int = 0
    events: int = 0
    non_events: int = 0
    faults: int = 0
    sim_time: datetime | None = None
    wall_s: float = 0.0


def play(
    cohort: Cohort,
    sink: Sink,
    *,
    speed: float | None = None,
    live: bool = False,
    stop: threading.Event | None = None,
    progress: TextIO | None = None,
    backfill_until: datetime | None = None,
    backfilled: Callable[[RunStats], None] | None = None,
    upload_gate: Callable[[int], None] | None = None,
) -> RunStats:
    """Send the cohort's stream to ``sink``.

    ``speed`` is simulated seconds per real second (None: as fast as possible). With
    ``live``, nothing is sent before its measurement time: a run that starts in the
    past catches up, then continues in real time. What was measured before
    ``backfill_until`` is sent at once, unpaced (history a device uploads when it
    connects); ``backfilled`` hears how much that was, and pacing starts from there
    when it returns. ``upload_gate`` is called with the number of messages sent before each
    message of the history, and may hold it until the receiver has caught up.
    """
    kinds = {d.serial: d.kind.value for p in cohort.patients for d in p.devices}
    starts = sorted((datetime.fromisoformat(label["start"]), label["kind"]) for label in cohort.labels())
    stats = RunStats()
    began = time.monotonic()
    next_report = began
    injected = 0
    paced_from = backfill_until or cohort.start
    filling = backfill_until is not None
    upload = _Upload()

    def send(item: Item) -> None:
        sink.handle(item, kinds[item.serial])
        if isinstance(item, Send):
            stats.messages += 1
            stats.readings += len(item.readings)

    for item in stream(cohort):
        if stop is not None and stop.is_set():
            break
        if filling and item.at >= paced_from:
            filling = False
            for held in upload.drain():
                send(held)
            if backfilled is not None:  # may hold the run until the history is taken in
                backfilled(dataclasses.replace(stats))
            began = time.monotonic()
        if filling:
            for ready in upload.add(item):
                if upload_gate is not None:
                    upload_gate(stats.messages)
                send(ready)
        else:
            _pace(item.at, paced_from, began, speed, live, stop)
            send(item)
        stats.sim_time = item.at
        while injected < len(starts) and starts[injected][0] <= item.at:
            kind = starts[injected][1]
            stats.events += kind == "event"
            stats.non_events += kind == "non_event"
            stats.faults += kind == "fault"
            injected += 1
        if progress is not None and time.monotonic() >= next_report:
            next_report = time.monotonic() + 0.5
            _report(progress, stats, cohort, ended=False)
    stats.wall_s = time.monotonic() - began
    if progress is not None:
        _report(progress, stats, cohort, ended=True)
    return stats


class _Upload:
    """History as a device uploads it when it connects: its stored readings in few, full messages."""

    def __init__(self, most: int = MAX_READINGS_PER_MESSAGE) -> None:
        self.most = most
        self.held: dict[str, list[Send]] = {}

    def add(self, item: Item) -> list[Item]:
        """What is ready to send now that ``item`` came (in order for its device)."""
        if not isinstance(item, Send) or item.duplicate:
            return [*self._flush(item.serial), item]
        held = self.held.setdefault(item.serial, [])
        if held and sum(len(s.readings) for s in held) + len(item.readings) > self.most:
            ready: list[Item] = [*self._flush(item.serial)]
            self.held[item.serial] = [item]
            return ready
        held.append(item)
        return []

    def drain(self) -> list[Item]:
        return [sent for serial in list(self.held) for sent in self._flush(serial)]

    def _flush(self, serial: str) -> list[Item]:
        held = self.held.pop(serial, [])
        if not held:
            return []
        readings = tuple(r for s in held for r in s.readings)
        return [Send(at=held[-1].at, serial=serial, readings=readings)]


def _pace(
    at: datetime, start: datetime, began: float, speed: float | None, live: bool, stop: threading.Event | None
) -> None:
    while True:
        wait = 0.0
        if speed is not None:
            wait = began + (at - start).total_seconds() / speed - time.monotonic()
        if live:
            wait = max(wait, (at - datetime.now(UTC)).total_seconds())
        if wait <= 0:
            return
        if stop is not None:
            if stop.wait(min(wait, 0.5)):
                return
        else:
            time.sleep(min(wait, 0.5))


def _report(out: TextIO, stats: RunStats, cohort: Cohort, *, ended: bool) -> None:
    total = (cohort.end - cohort.start).total_seconds()
    done = (stats.sim_time - cohort.start).total_seconds() / total if stats.sim_time else 0.0
    bar = "#" * int(30 * done)
    when = stats.sim_time.strftime("%Y-%m-%d %H:%M") if stats.sim_time else "-"
    line = (
        f"\r[{bar:<30}] {100 * done:5.1f}% sim {when} | {stats.messages:,} messages "
        f"{stats.readings:,} readings | events {stats.events} non-events {stats.non_events} "
        f"faults {stats.faults}"
    )
    out.write(line + ("\n" if ended else ""))
    out.flush()
