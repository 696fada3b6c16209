"""A patient's own usual value of a signal, by time of day, learned online with river's protocol.

``PersonalBaseline`` is a river anomaly detector: ``score_one`` before
``learn_one``, higher is more anomalous, scores in [0, 1]. It keeps an
exponentially weighted mean and variance per time-of-day bin (so a night-time
heart rate is compared with the patient's nights), forgets slowly with elapsed
time rather than reading count (so gaps and cadences do not matter), and stays
small: 6 bins x 4 numbers in one ``array``, about 0.3 KiB an instance.

>>> from datetime import UTC, datetime, timedelta
>>> model = PersonalBaseline(bins=1, warmup_count=10, warmup_span=timedelta(0), floor_sd=1.0)
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> for i in range(30):
...     model.learn_one({"value": 70.0 + (i % 3), "at": t0 + timedelta(minutes=i)})
>>> model.score_one({"value": 71.0, "at": t0 + timedelta(minutes=31)}) < 0.5
True
>>> model.score_one({"value": 95.0, "at": t0 + timedelta(minutes=31)}) > 0.999
True
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

from river.base import AnomalyDetector

Features = dict[Hashable, Any]  # river's feature dict: {"value": float, "at": datetime}
_FIELDS = 4  # per bin: weight (readings seen, capped), mean, variance, last update (epoch s)
_SQRT2 = math.sqrt(2.0)
_DAY = 86400.0


def bin_start(now: float, bins: int) -> int:
    """Where the time-of-day bin of ``now`` (epoch seconds, UTC) starts in a model's ``stats``."""
    return int(now % _DAY * bins / _DAY) % bins * _FIELDS


def two_sided(z: float) -> float:
    """Probability mass within |z| of a normal distribution's mean: 0 at the mean, -> 1 far away."""
    return math.erf(abs(z) / _SQRT2)


class PersonalBaseline(AnomalyDetector):
    """Usual level and spread of one signal for one patient, per time-of-day bin.

    Features: ``{"value": float, "at": datetime}``. ``tau`` is the memory
    (older readings weigh ``exp(-age / tau)``); ``floor_sd`` keeps a very steady
    signal (an SpO2 of 97 all day) from making every one-point change an anomaly.
    Until the bin has ``warmup_count`` readings and the model has seen
    ``warmup_span`` of time, the score is 0: it does not yet know the patient.
    """

    def __init__(
        self,
        *,
        bins: int = 6,
        tau: timedelta = timedelta(days=7),
        floor_sd: float = 1.0,
        warmup_count: int = 30,
        warmup_span: timedelta = timedelta(days=2),
        memory_readings: int | None = None,
    ) -> None:
        self.bins = bins
        self.tau = tau
        self.floor_sd = floor_sd
        self.warmup_count = warmup_count
        self.warmup_span = warmup_span
        # With a reading count as memory too, a series of unknown cadence forgets at least this fast.
        self._min_alpha = 1.0 / memory_readings if memory_readings else 0.0
        self._warmup_s, self._tau_s = warmup_span.total_seconds(), tau.total_seconds()
        self.first_at: float | None = None
        self.stats = array("d", [0.0] * (bins * _FIELDS))

    def usual(self, at: datetime) -> tuple[float, float, int] | None:
        """(mean, sd, readings) of the bin ``at`` falls in, once warm; else None."""
        return self.usual_at(at.timestamp())

    def usual_at(self, now: float) -> tuple[float, float, int] | None:
        """``usual`` for a time in epoch seconds (the detectors' hot path has it already)."""
        return self.usual_in(bin_start(now, self.bins), now)

    def usual_in(self, i: int, now: float) -> tuple[float, float, int] | None:
        """``usual_at`` with the bin ``now`` falls in (``bin_start``) already worked out."""
        if self.first_at is None or now - self.first_at < self._warmup_s:
            return None
        stats = self.stats
        count = int(stats[i])
        if count < self.warmup_count:
            return None
        sd = math.sqrt(stats[i + 2])
        return stats[i + 1], sd if sd > self.floor_sd else self.floor_sd, count

    @property
    def warm(self) -> bool:
        """Whether some time-of-day bin has left warm-up (enough readings over enough time)."""
        if self.first_at is None:
            return False
        return any(
            int(self.stats[i]) >= self.warmup_count
            and self.stats[i + 3] - self.first_at >= self.warmup_span.total_seconds()
            for i in range(0, len(self.stats), _FIELDS)
        )

    def z(self, x: Features) -> float | None:
        usual = self.usual(x["at"])
        if usual is None:
            return None
        mean, sd, _ = usual
        return (float(x["value"]) - mean) / sd

    def score_one(self, x: Features) -> float:
        z = self.z(x)
        return 0.0 if z is None else two_sided(z)

    def learn_one(self, x: Features) -> None:
        at: datetime = x["at"]
        self.learn(float(x["value"]), at.timestamp())

    def learn(self, value: float, now: float) -> None:
        """``learn_one`` for a value at a time in epoch seconds."""
        self.learn_in(bin_start(now, self.bins), value, now)

    def learn_in(self, i: int, value: float, now: float) -> None:
        """``learn`` with the bin ``now`` falls in (``bin_start``) already worked out."""
        if self.first_at is None:
            self.first_at = now
        s = self.stats
        count = s[i]
        if count == 0:
            s[i], s[i + 1], s[i + 2], s[i + 3] = 1.0, value, 0.0, now
            return
        dt = max(now - s[i + 3], 0.0)
        # Early on weigh like a plain mean; later forget with elapsed time, not with readings.
        alpha = max(1.0 / (count + 1), 1.0 - math.exp(-dt / self._tau_s), self._min_alpha)
        delta = value - s[i + 1]
        s[i + 1] += alpha * delta
        s[i + 2] = (1 - alpha) * (s[i + 2] + alpha * delta * delta)
        s[i] = min(count + 1, 1e9)
        s[i + 3] = now

    def dump(self) -> dict[str, Any]:
        return {"first_at": self.first_at, "stats": list(self.stats)}

    def load(self, data: dict[str, Any]) -> None:
        self.first_at = data["first_at"]
        self.stats = array("d", data["stats"])
