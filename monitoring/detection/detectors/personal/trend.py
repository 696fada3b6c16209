"""The joint-drift score of the personal models, and the drivers its explanation lists.

Each trend input (``SeriesModel.trend_unit``) whose level is fresh and pulls
the wrong way contributes its departure in units of clinical concern, capped
and rounded to the hundredth the explanation shows, so that the score an
alert gives is the sum of the contributions it lists.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from monitoring.catalogue import SERIES, Series
from monitoring.detection.detectors.personal.baseline import PersonalBaseline
from monitoring.detection.detectors.personal.series import MODELS, Level

# (series, unit, sign, freshness in seconds) of every trend input, in the catalogue's order.
TREND_INPUTS: tuple[tuple[Series, float, int, float], ...] = tuple(
    (series, spec.trend_unit, spec.trend_sign, spec.fresh.total_seconds())
    for series, spec in MODELS.items()
    if spec.trend_unit is not None
)
TREND_SERIES = frozenset(series for series, *_ in TREND_INPUTS)

Contribution = tuple[Series, float, float]  # (series, departure, contribution)


def contributions(
    levels: Mapping[Series, Level], now: float, cap: float, left_out: Collection[Series] = ()
) -> list[Contribution]:
    """Each fresh trend input pulling away from usual, but those ``left_out``; runs per reading."""
    found: list[Contribution] = []
    for series, unit, sign, fresh in TREND_INPUTS:
        level = levels.get(series)
        if level is None or now - level.at > fresh or series in left_out:
            continue
        contribution = sign * level.value / unit
        if contribution > 0:
            found.append((series, level.value, round(contribution if contribution < cap else cap, 2)))
    return found


def drivers(
    found: list[Contribution], models: Mapping[Series, PersonalBaseline], at: datetime
) -> list[dict[str, Any]]:
    """The contributions as the explanation lists them, largest first, each with the usual it left."""
    listed: list[dict[str, Any]] = []
    for series, departure, contribution in found:
        usual = models[series].usual(at)
        listed.append(
            {
                "series": series.key,
                "departure": round(departure, 2),
                "unit": SERIES[series].unit,
                "usual": None if usual is None else round(usual[0], 2),
                "contribution": contribution,
            }
        )
    listed.sort(key=lambda d: -float(d["contribution"]))
    return listed
