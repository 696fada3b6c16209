"""Blood pressure, weight, heart rate and SpO2 summaries, and adherence, for clinicians.

- BP: mean of morning (04:00-11:59) and evening (18:00-23:59) readings in the patient's time
  zone, as home-BP protocols ask, the overall mean, and the home-BP category of that mean.
- Weight: the latest value and its change over 1, 3 and 7 days (against the reading nearest to
  that many days earlier, within 12 hours).
- Adherence: days with at least one reading in the 30 days up to the end (remote physiologic
  monitoring programs bill from 16 days in 30).

>>> from datetime import UTC
>>> days = [(1, 80.0), (5, 80.6), (7, 81.9), (8, 82.4)]
>>> weight_changes([(datetime(2026, 1, d, 7, tzinfo=UTC), w) for d, w in days])
{1: 0.5, 3: 1.8, 7: 2.4}
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from monitoring.detection.detectors.pressure import home_category

Points = Sequence[tuple[datetime, float]]
ADHERENCE_WINDOW = timedelta(days=30)
ADHERENCE_DAYS = 16
_NEAR = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Stats:
    count: int
    mean: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            return cls(0, None, None, None)
        return cls(len(values), round(statistics.fmean(values), 1), min(values), max(values))


@dataclass(frozen=True, slots=True)
class PressureSummary:
    systolic: Stats
    diastolic: Stats
    morning: tuple[float, float] | None  # mean systolic, diastolic
    evening: tuple[float, float] | None
    category: str | None


def _pairs(systolic: Points, diastolic: Points) -> list[tuple[datetime, float, float]]:
    by_time = dict(diastolic)
    return [(at, s, by_time[at]) for at, s in systolic if at in by_time]


def pressure_summary(systolic: Points, diastolic: Points, zone: tzinfo) -> PressureSummary:
    pairs = _pairs(systolic, diastolic)

    def mean_of(hours: range) -> tuple[float, float] | None:
        chosen = [(s, d) for at, s, d in pairs if at.astimezone(zone).hour in hours]
        if not chosen:
            return None
        return round(statistics.fmean(s for s, _ in chosen), 1), round(
            statistics.fmean(d for _, d in chosen), 1
        )

    sys_stats, dia_stats = Stats.of([s for _, s in systolic]), Stats.of([d for _, d in diastolic])
    category = None
    if sys_stats.mean is not None and dia_stats.mean is not None:
        category = home_category(sys_stats.mean, dia_stats.mean)
    return PressureSummary(sys_stats, dia_stats, mean_of(range(4, 12)), mean_of(range(18, 24)), category)


def weight_changes(points: Points, days: Sequence[int] = (1, 3, 7)) -> dict[int, float | None]:
    """Change from the reading nearest ``n`` days before the latest one (None when there is none)."""
    if not points:
        return dict.fromkeys(days)
    latest_at, latest = points[-1]
    found: dict[int, float | None] = {}
    for n in days:
        target = latest_at - timedelta(days=n)
        near = [(abs(at - target), value) for at, value in points[:-1] if abs(at - target) <= _NEAR]
        found[n] = round(latest - min(near)[1], 1) if near else None
    return found
