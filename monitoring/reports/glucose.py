"""Glucose summary by the international consensus on CGM metrics (Battelino 2019; ADA table 6.2).

- Time in ranges: < 54, 54-69, 70-180, 181-250, > 250 mg/dL, as % of readings.
- Mean, GMI (%) = 3.31 + 0.02392 x mean (mg/dL), CV = SD / mean x 100 (target <= 36 %).
- Sufficiency: days with readings and % of the readings expected at the device's interval
  (the consensus asks for 14 days with at least 70 %).
- AGP: for each hour of the (local) day, the 5th, 25th, 50th, 75th and 95th percentiles.

>>> s = summarise([(datetime(2026, 1, 1, h, tzinfo=UTC), v) for h, v in enumerate([50, 60, 100, 200, 300])],
...               expected_every=timedelta(hours=1), start=datetime(2026, 1, 1, tzinfo=UTC),
...               end=datetime(2026, 1, 1, 5, tzinfo=UTC))
>>> [r.percent for r in s.ranges], s.mean, s.gmi, s.sufficiency.percent_expected
([20.0, 20.0, 20.0, 20.0, 20.0], 142.0, 6.7, 100.0)
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

BANDS: tuple[tuple[str, float, float], ...] = (
    ("very_low", -math.inf, 54.0),  # level 2 hypoglycaemia
    ("low", 54.0, 70.0),  # level 1
    ("in_range", 70.0, 180.5),  # 70-180 inclusive of 180 (readings are whole mg/dL)
    ("high", 180.5, 250.5),
    ("very_high", 250.5, math.inf),
)
PERCENTILES = (5, 25, 50, 75, 95)


@dataclass(frozen=True, slots=True)
class RangeShare:
    band: str
    percent: float


@dataclass(frozen=True, slots=True)
class HourProfile:
    hour: int
    count: int
    percentiles: dict[int, float]


@dataclass(frozen=True, slots=True)
class Sufficiency:
    days_with_data: int
    readings: int
    expected: int
    percent_expected: float
    sufficient: bool  # 14 days with >= 70 % of expected readings


@dataclass(frozen=True, slots=True)
class GlucoseSummary:
    ranges: list[RangeShare]
    mean: float | None
    gmi: float | None
    cv: float | None
    agp: list[HourProfile]
    sufficiency: Sufficiency


def percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(
    points: Sequence[tuple[datetime, float]],
    *,
    expected_every: timedelta,
    start: datetime,
    end: datetime,
    zone: tzinfo = UTC,
) -> GlucoseSummary:
    values = [v for _, v in points]
    n = len(values)
    ranges = [
        RangeShare(name, round(100 * sum(low <= v < high for v in values) / n, 1) if n else 0.0)
        for name, low, high in BANDS
    ]
    mean = statistics.fmean(values) if n else None
    cv = 100 * statistics.stdev(values) / mean if n >= 2 and mean else None
    by_hour: dict[int, list[float]] = defaultdict(list)
    for at, value in points:
        by_hour[at.astimezone(zone).hour].append(value)
    agp = []
    for hour in range(24):
        ordered = sorted(by_hour.get(hour, ()))
        shares = {q: round(percentile(ordered, q), 1) for q in PERCENTILES} if ordered else {}
        agp.append(HourProfile(hour, len(ordered), shares))
    expected = max(1, int((end - start) / expected_every))
    days = len({at.astimezone(zone).date() for at, _ in points})
    share = round(min(100.0, 100 * n / expected), 1)
    return GlucoseSummary(
        ranges=ranges,
        mean=None if mean is None else round(mean, 1),
        gmi=None if mean is None else round(3.31 + 0.02392 * mean, 1),
        cv=None if cv is None else round(cv, 1),
        agp=agp,
        sufficiency=Sufficiency(days, n, expected, share, days >= 14 and share >= 70.0),
    )
