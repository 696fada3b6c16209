"""Real CGM traces: reading them, deriving hypoglycaemia episodes from the data alone, splitting people.

Input files hold ``id,time,gl`` rows (person, local time without a zone, mg/dL),
many people per file, as GlucoBench publishes them. A person is named
``<file stem>:<id>`` so that ids from different studies never collide. Times
are read as UTC: the detectors only need them to be consistent per person.

Episodes follow the international consensus (Danne 2017, Battelino 2023): one
begins at the first of at least three consecutive readings below 70 mg/dL (at
5-minute sampling each reading stands for 5 minutes: 15 minutes in all) and
ends once glucose has been at or above 70 for 15 minutes (three readings).
Readings more than ``MAX_STEP`` apart are not consecutive: a gap ends a run.

>>> t = [datetime(2020, 1, 1, 0, 5 * i, tzinfo=UTC) for i in range(10)]
>>> trace = Trace("x:1", tuple(t), (90, 72, 68, 65, 66, 71, 69, 75, 80, 85))
>>> [(e.onset.minute, e.end.minute, e.nadir) for e in episodes(trace)]
[(10, 35, 65.0)]
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

LOW = 70.0
LEVEL2 = 54.0
RUN_READINGS = 3  # readings below LOW that make an episode (15 minutes at 5-minute sampling)
END_READINGS = 3  # readings at or above LOW that end one
MAX_STEP = timedelta(minutes=15)  # readings further apart than this are not consecutive
HELD_OUT_SHARE = 3  # of every 10 hash buckets


@dataclass(frozen=True, slots=True)
class Trace:
    person: str
    times: tuple[datetime, ...]
    values: tuple[float, ...]

    @property
    def study(self) -> str:
        return self.person.split(":", 1)[0]

    def covered(self) -> timedelta:
        """Time the sensor was recording: the trace's span less its gaps."""
        total = timedelta()
        for before, after in zip(self.times, self.times[1:], strict=False):
            step = after - before
            if step <= MAX_STEP:
                total += step
        return total


@dataclass(frozen=True, slots=True)
class Episode:
    person: str
    onset: datetime  # the first reading below 70
    end: datetime  # the first of the readings back at or above 70 that end it
    nadir: float
    level2: bool  # at least three consecutive readings below 54
    history: timedelta  # recorded data without a gap just before the onset (capped at a day)

    @property
    def predictable(self) -> bool:
        """At least 30 minutes of unbroken data before onset: a forecaster had a chance."""
        return self.history >= timedelta(minutes=30)


def person_name(path: Path, raw_id: str) -> str:
    stem = path.stem.removesuffix("_processed")
    return f"{stem}:{raw_id}"


def read_traces(paths: Iterable[Path]) -> list[Trace]:
    """Every person's readings, in time order; rows without a number (``NA``) are skipped."""
    rows: dict[str, list[tuple[datetime, float]]] = {}
    for path in paths:
        with path.open(newline="") as source:
            for row in csv.DictReader(source):
                try:
                    value = float(row["gl"])
                    at = datetime.fromisoformat(row["time"]).replace(tzinfo=UTC)
                except (TypeError, ValueError):
                    continue
                rows.setdefault(person_name(path, row["id"]), []).append((at, value))
    traces = []
    for person, points in rows.items():
        points.sort()
        deduped = [p for i, p in enumerate(points) if i == 0 or p[0] != points[i - 1][0]]
        traces.append(Trace(person, tuple(t for t, _ in deduped), tuple(v for _, v in deduped)))
    return sorted(traces, key=lambda t: t.person)


def read_simglucose(paths: Iterable[Path]) -> list[tuple[Trace, Trace]]:
    """simglucose runs (one ``<patient>.csv`` each: ``Time,BG,CGM,...``): the CGM signal and the true BG.

    The detectors see the CGM; episodes come from the blood glucose the
    simulator knows and a sensor does not (the ground truth that real data lacks).
    """
    out = []
    for path in paths:
        with path.open(newline="") as source:
            rows = [
                (datetime.fromisoformat(r["Time"]).replace(tzinfo=UTC), float(r["CGM"]), float(r["BG"]))
                for r in csv.DictReader(source)
            ]
        person = f"simglucose:{path.stem}"
        times = tuple(t for t, _, _ in rows)
        out.append(
            (
                Trace(person, times, tuple(c for _, c, _ in rows)),
                Trace(person, times, tuple(b for _, _, b in rows)),
            )
        )
    return sorted(out, key=lambda pair: pair[0].person)


def dataset_files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {directory}")
    return files


def held_out(person: str) -> bool:
    """A stable split: the person's hash bucket, the same on every machine and run."""
    bucket = int(hashlib.sha256(person.encode()).hexdigest()[:8], 16) % 10
    return bucket < HELD_OUT_SHARE


def _runs(trace: Trace) -> Iterator[tuple[int, int]]:
    """Index ranges [start, stop) of consecutive readings (no gap wider than MAX_STEP)."""
    start = 0
    for i in range(1, len(trace.times)):
        if trace.times[i] - trace.times[i - 1] > MAX_STEP:
            yield start, i
            start = i
    if trace.times:
        yield start, len(trace.times)


def episodes(trace: Trace) -> list[Episode]:
    found: list[Episode] = []
    for start, stop in _runs(trace):
        found.extend(_episodes_in(trace, start, stop))
    return found


def _episodes_in(trace: Trace, start: int, stop: int) -> Iterator[Episode]:
    times, values = trace.times, trace.values
    i = start
    while i < stop:
        if values[i] >= LOW or not all(v < LOW for v in values[i : i + RUN_READINGS]):
            i += 1
            continue
        if i + RUN_READINGS > stop:
            return
        onset = i
        j, above = i, 0
        while j < stop and above < END_READINGS:
            above = above + 1 if values[j] >= LOW else 0
            j += 1
        end_index = j - above  # first reading of the closing run (or where the data stops)
        low_values = values[onset:end_index]
        yield Episode(
            person=trace.person,
            onset=times[onset],
            end=times[end_index] if end_index < stop else times[stop - 1],
            nadir=float(min(low_values)),
            level2=_has_level2(low_values),
            history=min(times[onset] - times[start], timedelta(days=1)),
        )
        i = j


def _has_level2(values: tuple[float, ...]) -> bool:
    run = 0
    for v in values:
        run = run + 1 if v < LEVEL2 else 0
        if run >= RUN_READINGS:
            return True
    return False
