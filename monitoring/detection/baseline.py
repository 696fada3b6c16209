"""A patient's usual value of a series: exponentially weighted mean and spread.

>>> b = Baseline()
>>> for v in (70, 72, 71, 69, 70):
...     b.learn(v)
>>> round(b.mean, 1), b.count
(70.4, 5)
"""

from __future__ import annotations

import math


class Baseline:
    """Exponentially weighted mean and variance; about 100 bytes per instance."""

    __slots__ = ("alpha", "count", "mean", "var")

    def __init__(self, alpha: float = 0.05) -> None:
        self.alpha = alpha
        self.count = 0
        self.mean = 0.0
        self.var = 0.0

    def learn(self, value: float) -> None:
        self.count += 1
        if self.count == 1:
            self.mean = value
            return
        # Until 1/alpha values are seen, weigh like a plain running mean.
        alpha = max(self.alpha, 1.0 / self.count)
        delta = value - self.mean
        self.mean += alpha * delta
        self.var = (1 - alpha) * (self.var + alpha * delta * delta)

    @property
    def sd(self) -> float:
        return math.sqrt(self.var)

    def describe(self) -> dict[str, float | int] | None:
        if self.count < 5:
            return None
        return {"mean": round(self.mean, 2), "sd": round(self.sd, 2), "n": self.count}

    def dump(self) -> list[float]:
        return [self.alpha, self.count, self.mean, self.var]

    @classmethod
    def load(cls, row: list[float]) -> Baseline:
        baseline = cls(row[0])
        baseline.count, baseline.mean, baseline.var = int(row[1]), row[2], row[3]
        return baseline
