"""What the hypoglycaemia-risk model sees at each CGM reading: the recent trajectory and the person's history.

One definition serves the live detector and the offline training
(``evaluation.hypo_training``), so the model is trained on exactly what it is
later given. Everything here is causal: a reading's features use only that
reading and those before it.

>>> from datetime import UTC, datetime, timedelta
>>> t0, track = datetime(2026, 1, 1, 2, tzinfo=UTC), Trajectory()
>>> for i, g in enumerate([130, 124, 118, 112, 106, 100, 95]):
...     found = track.add(t0 + timedelta(minutes=5 * i), g)
>>> round(found.named()["slope_10"], 2), round(60 * found.named()["hours_to_70"])
(-1.1, 23)
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitoring.detection.detectors.forecast import ar2_forecast
from monitoring.detection.state import dump_points, dump_time, load_points, load_time

LOW = 70.0
_KEEP_S = 3600.0  # the last hour of readings is kept
_FRESH_S = 720.0  # a reading more than 12 minutes after the last one starts the trajectory again
NAMES = (
    "level",  # ln(g / 70)
    "level_sq",
    "slope_10",  # mg/dL per minute over the last 10 minutes
    "slope_30",  # ... over the last 30 minutes
    "acceleration",  # change of the 10-minute slope against the 10 minutes before
    "ar2_30",  # ln(Nightscout AR2 30-minute forecast / 70)
    "hours_to_70",  # at the 10-minute slope, capped at 2 hours (2 when not falling)
    "near_70",  # exp(-minutes to 70 / 20): large when 70 is close at the current rate
    "projected_20",  # ln(glucose in 20 minutes at the 10-minute slope / 70), floored at 20 mg/dL
    "min_60",  # ln(lowest of the last hour / 70)
    "low_share",  # logit of the person's share of readings below 70 so far (shrunk to a prior)
    "recent_low",  # exp(-hours since the last reading below 70 / 3)
    "night",  # 1 between 00:00 and 06:00 local time
    "mean_level",  # ln(the person's mean so far / 100)
    "variability",  # the person's coefficient of variation so far
)
PRIOR_READINGS, PRIOR_LOW_SHARE = 288.0, 0.02  # a day's worth of "2 % low" before any data


@dataclass(frozen=True, slots=True)
class Features:
    at: datetime
    value: float
    vector: tuple[float, ...]
    forecast_30: float  # the AR2 forecast, mg/dL

    def named(self) -> dict[str, float]:
        return dict(zip(NAMES, self.vector, strict=True))


@dataclass(slots=True)
class History:
    """The person's glucose so far: counts and sums, and when they were last low."""

    count: float = 0.0
    lows: float = 0.0
    total: float = 0.0
    squares: float = 0.0
    first_at: datetime | None = None
    last_low_at: datetime | None = None

    def add(self, at: datetime, value: float) -> None:
        self.count += 1
        self.total += value
        self.squares += value * value
        self.first_at = self.first_at or at
        if value < LOW:
            self.lows += 1
            self.last_low_at = at

    def low_share(self) -> float:
        share = (self.lows + PRIOR_LOW_SHARE * PRIOR_READINGS) / (self.count + PRIOR_READINGS)
        return math.log(share / (1 - share))

    def mean_and_cv(self) -> tuple[float, float]:
        if self.count < 12:
            return 110.0, 0.2
        mean = self.total / self.count
        variance = max(self.squares / self.count - mean * mean, 0.0)
        return mean, math.sqrt(variance) / mean

    def dump(self) -> list[Any]:
        return [self.count, self.lows, self.total, self.squares, dump_time(self.first_at)] + [
            dump_time(self.last_low_at)
        ]

    @classmethod
    def load(cls, row: list[Any]) -> History:
        return cls(row[0], row[1], row[2], row[3], load_time(row[4]), load_time(row[5]))


@dataclass(slots=True)
class Trajectory:
    """The last hour of readings and the history, turned into features at each new reading."""

    # (epoch seconds, mg/dL): float times, as this runs for every CGM reading of every patient.
    recent: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=90))
    history: History = field(default_factory=History)

    def add(self, at: datetime, value: float) -> Features | None:
        """Take a reading; its features, or None while the last 30 minutes are too sparse."""
        now, recent = at.timestamp(), self.recent
        if recent and now - recent[-1][0] > _FRESH_S:
            recent.clear()
        recent.append((now, value))
        while now - recent[0][0] > _KEEP_S:
            recent.popleft()
        found = self._features(at, now, value)
        self.history.add(at, value)
        return found

    def readings(self) -> list[tuple[datetime, float]]:
        return [(datetime.fromtimestamp(t, UTC), v) for t, v in self.recent]

    def _at(self, now: float, minutes: float) -> float | None:
        """The reading nearest ``minutes`` before ``now`` (within 3 minutes), if any."""
        target = now - minutes * 60
        for when, value in reversed(self.recent):
            gap = when - target
            if -180 <= gap <= 180:
                return value
            if gap < -180:
                return None
        return None

    def _features(self, at: datetime, now: float, g: float) -> Features | None:
        g30 = self._at(now, 30)
        if g30 is None:
            return None
        g5, g10, g20 = self._at(now, 5), self._at(now, 10), self._at(now, 20)
        if g5 is None or g10 is None or g20 is None:
            return None
        slope_10, slope_30 = (g - g10) / 10, (g - g30) / 30
        acceleration = slope_10 - (g10 - g20) / 10
        forecast = ar2_30(g5, g)
        to_70 = 120.0 if slope_10 >= -0.05 else min(120.0, max(0.0, (g - LOW) / -slope_10))
        lowest = min([v for _, v in self.recent])
        since_low = (
            (at - self.history.last_low_at).total_seconds() / 3600
            if self.history.last_low_at is not None
            else 48.0
        )
        mean, cv = self.history.mean_and_cv()
        level = math.log(g / LOW)
        vector = (
            level,
            level * level,
            slope_10,
            slope_30,
            acceleration,
            math.log(forecast / LOW),
            to_70 / 60,
            math.exp(-to_70 / 20),
            math.log(max(g + 20 * slope_10, 20.0) / LOW),
            math.log(lowest / LOW),
            self.history.low_share(),
            math.exp(-since_low / 3),
            1.0 if at.hour < 6 else 0.0,
            math.log(mean / 100),
            cv,
        )
        return Features(at, g, vector, forecast)

    def dump(self) -> dict[str, Any]:
        return {"recent": dump_points(self.readings()), "history": self.history.dump()}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Trajectory:
        track = cls(history=History.load(data["history"]))
        track.recent.extend((at.timestamp(), value) for at, value in load_points(data["recent"]))
        return track


def ar2_30(previous: float, current: float) -> float:
    """Nightscout's AR2 forecast 30 minutes (6 steps) ahead, mg/dL."""
    return ar2_forecast(previous, current, steps=6)[-1]
