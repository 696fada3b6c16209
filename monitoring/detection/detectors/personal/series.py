"""What the personal models keep per series: how each vital sign's usual is learned, and its levels.

``MODELS`` gives, per series, the time-of-day bins, warm-up and spread floor
of its ``PersonalBaseline``, how fast its departure level forgets, and for
the inputs of the joint-drift score the departure worth one point and the
direction that is bad. ``Level`` is one series' smoothed departure from usual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from monitoring.catalogue import Series
from monitoring.detection.detectors.personal.baseline import PersonalBaseline


@dataclass(frozen=True, slots=True)
class SeriesModel:
    bins: int = 6
    floor_sd: float = 1.0
    warmup_count: int = 30
    warmup_span: timedelta = timedelta(days=2)
    level_tau: timedelta = timedelta(hours=12)
    fresh: timedelta = timedelta(hours=3)  # a level older than this does not vote
    trend_unit: float | None = None  # departure worth one point of trend score ...
    trend_sign: int = 1  # ... in this direction (+1: up is bad)


MODELS: dict[Series, SeriesModel] = {
    Series.HEART_RATE: SeriesModel(floor_sd=3.0, trend_unit=4.0, warmup_span=timedelta(days=1)),
    Series.RESPIRATORY_RATE: SeriesModel(floor_sd=1.0, trend_unit=1.5),
    Series.SPO2: SeriesModel(floor_sd=1.0, trend_unit=1.0, trend_sign=-1),
    Series.SKIN_TEMPERATURE: SeriesModel(floor_sd=0.3, trend_unit=0.4, warmup_span=timedelta(days=1)),
    Series.BODY_WEIGHT: SeriesModel(
        bins=1,
        floor_sd=0.5,
        warmup_count=5,
        warmup_span=timedelta(days=4),
        level_tau=timedelta(days=1.5),
        fresh=timedelta(hours=36),
        trend_unit=0.8,
    ),
    Series.BODY_TEMPERATURE: SeriesModel(bins=1, floor_sd=0.2, warmup_count=6),
    Series.BP_SYSTOLIC: SeriesModel(bins=2, floor_sd=5.0, warmup_count=6, warmup_span=timedelta(days=3)),
    Series.BP_DIASTOLIC: SeriesModel(bins=2, floor_sd=4.0, warmup_count=6, warmup_span=timedelta(days=3)),
    Series.GLUCOSE_CGM: SeriesModel(floor_sd=10.0),
    Series.GLUCOSE_METER: SeriesModel(bins=1, floor_sd=10.0, warmup_count=8),
    Series.STEPS: SeriesModel(bins=1, floor_sd=500.0, warmup_count=5, warmup_span=timedelta(days=5)),
}
_GENERIC = SeriesModel()
# What the hot path reads of each series' level, in seconds: its memory.
_LEVEL_TAU_S = {series: spec.level_tau.total_seconds() for series, spec in MODELS.items()}
_GENERIC_TAU_S = _GENERIC.level_tau.total_seconds()


def new_model(series: Series) -> PersonalBaseline:
    spec = MODELS.get(series, _GENERIC)
    return PersonalBaseline(
        bins=spec.bins,
        floor_sd=spec.floor_sd,
        warmup_count=spec.warmup_count,
        warmup_span=spec.warmup_span,
    )


def level_tau_s(series: Series) -> float:
    """How long a series' departure level remembers, in seconds."""
    return _LEVEL_TAU_S.get(series, _GENERIC_TAU_S)


@dataclass(slots=True)
class Level:
    """One series' departure from the patient's usual, smoothed slowly (``value``) and over an hour."""

    value: float = 0.0
    at: float = 0.0  # epoch seconds
    short: float = 0.0  # faster level (SpO2 drop, febrile pattern)

    def update(self, departure: float, at: float, tau: float, short_tau: float) -> None:
        if self.at == 0.0:
            self.value = self.short = departure
        else:
            dt = max(at - self.at, 0.0)
            self.value += (1 - math.exp(-dt / tau)) * (departure - self.value)
            self.short += (1 - math.exp(-dt / short_tau)) * (departure - self.short)
        self.at = at
