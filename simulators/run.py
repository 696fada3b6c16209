"""Plays a cohort's stream into a sink, as fast as possible or paced against the clock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from simulators.cohort import Cohort
from simulators.engine import Send, stream
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
) -> RunStats:
    """Send the cohort's stream to ``sink``.

    ``speed`` is simulated seconds per real second (None: as fast as possible). With
    ``live``, nothing is sent before its measurement time: a run that starts in the
    past catches up, then continues in real time.
    """
    kinds = {d.serial: d.kind.value for p in cohort.patients for d in p.devices}
    starts = sorted((datetime.fromisoformat(label["start"]), label["kind"]) for label in cohort.labels())
    stats = RunStats()
    began = time.monotonic()
    next_report = began
    injected = 0
    for item in stream(cohort):
        if stop is not None and stop.is_set():
            break
        _pace(item.at, cohort.start, began, speed, live, stop)
        sink.handle(item, kinds[item.serial])
        stats.sim_time = item.at
        if isinstance(item, Send):
            stats.messages += 1
            stats.readings += len(item.readings)
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
