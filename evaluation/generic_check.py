"""The generic personal model on real public series that are not vital signs, beside a plain online z-score.

    python -m evaluation.generic_check

The series ship with river (already a dependency), so nothing is downloaded:

- **Water flow** (hourly litres per second through a pipeline branch, March to
  May 2022, donated by Tecnojest s.r.l. to river): its documentation names
  three "low value moments" (water losses or maintenance) and a small pumping
  peak. Labels are derived from the data by that description: the readings
  below 90 l/s (the usual flow is 100-105), and the readings above 106 l/s
  after the second low.
- **Airline passengers** (monthly, 1949-1960, Box & Jenkins): no anomalies, a
  level that trebles. Every alert on it is a false one: it shows whether a
  model follows a new normal.

Both models see each value once, score it, then learn from it, and alert on
the same rule (3 readings in a row at |z| >= 4, ending under 3). The plain
z-score keeps a running mean and variance of everything it has seen.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import river.datasets

from evaluation.replay import GenericDeparture
from monitoring.detection.tracker import EpisodeState, Persistence

DATA = Path(river.datasets.__file__).parent


class Model(Protocol):
    def step(self, at: datetime, value: float) -> tuple[float, float | None, list[str]]: ...


class RunningZ:
    """A plain online z-score: Welford's running mean and variance of every value so far."""

    def __init__(self, z: float = 4.0, z_clear: float = 3.0, readings: int = 3, warmup: int = 20) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.z, self.z_clear, self.warmup = z, z_clear, warmup
        self.episode = EpisodeState()
        self.rule = Persistence(start_count=readings, end_count=readings)

    def step(self, at: datetime, value: float) -> tuple[float, float | None, list[str]]:
        z = None
        if self.n >= self.warmup:
            sd = math.sqrt(self.m2 / (self.n - 1)) or 1e-6
            z = (value - self.mean) / sd
        limit = self.z_clear if self.episode.active else self.z
        found = self.rule.step(self.episode, at, z is not None and abs(z) >= limit)
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)
        score = 0.0 if z is None else math.erf(abs(z) / math.sqrt(2))
        return score, z, ["personal.departure"] if found and found[0] == "open" else []


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    times: tuple[datetime, ...]
    values: tuple[float, ...]
    labels: tuple[bool, ...]  # anomalous readings (all False: a series with none)


def water_flow() -> Series:
    with (DATA / "water-flow.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    times = tuple(datetime.fromisoformat(r["Time"]).astimezone(UTC) for r in rows)
    values = tuple(float(r["Water flow [l/s]"]) for r in rows)
    lows = [i for i, v in enumerate(values) if v < 90]
    second_low_end = sorted({i for i in lows if i - 1 not in lows})[1]
    labels = tuple(v < 90 or (i > second_low_end + 5 and v > 106) for i, v in enumerate(values))
    return Series("water flow (river.datasets.WaterFlow)", times, values, labels)


def airline_passengers() -> Series:
    with (DATA / "airline-passengers.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    times = tuple(datetime.strptime(r["month"], "%Y-%m").replace(tzinfo=UTC) for r in rows)
    values = tuple(float(r["passengers"]) for r in rows)
    return Series(
        "airline passengers (river.datasets.AirlinePassengers)", times, values, (False,) * len(rows)
    )


def segments(labels: Sequence[bool]) -> list[tuple[int, int]]:
    out, start = [], None
    for i, flag in enumerate([*labels, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def average_precision(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """How well the scores rank the anomalous readings first (1.0: all of them on top)."""
    positives = sum(labels)
    if not positives:
        return None
    ranked = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    hits, total = 0, 0.0
    for rank, (_, label) in enumerate(ranked, start=1):
        if label:
            hits += 1
            total += hits / rank
    return round(total / positives, 4)


def score_series(series: Series, model: Model, slack: int = 3) -> dict[str, Any]:
    zs, opened = [], []
    for i, (at, value) in enumerate(zip(series.times, series.values, strict=True)):
        _, z, raised = model.step(at, value)
        zs.append(abs(z) if z is not None else 0.0)
        if raised:
            opened.append(i)
    found = segments(series.labels)
    near = {j for a, b in found for j in range(a, b + slack + 1)}
    return {
        "segments": len(found),
        "segments_alerted": sum(any(a <= i <= b + slack for i in opened) for a, b in found),
        "false_alerts": sum(i not in near for i in opened),
        "average_precision": average_precision(zs, series.labels),
        "readings_flagged": sum(z >= 4 for z in zs),
    }


MODELS: dict[str, Callable[[], Model]] = {
    "generic personal model": GenericDeparture,
    "running z-score": RunningZ,
}


def check() -> dict[str, dict[str, dict[str, Any]]]:
    return {
        s.name: {name: score_series(s, make()) for name, make in MODELS.items()}
        for s in (water_flow(), airline_passengers())
    }


def markdown(report: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = [
        "| series | model | anomalous segments alerted | false alerts | average precision "
        "| readings at abs(z) >= 4 |",
        "|---|---|---|---|---|---|",
    ]
    for series, by_model in report.items():
        for name, r in by_model.items():
            alerted = f"{r['segments_alerted']} / {r['segments']}" if r["segments"] else "-"
            ap = "-" if r["average_precision"] is None else f"{r['average_precision']:.3f}"
            lines.append(
                f"| {series} | {name} | {alerted} | {r['false_alerts']} | {ap} | {r['readings_flagged']} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(check()))  # noqa: T201 - the command's output
