"""Detector set-ups the detection tests share."""

from __future__ import annotations

from monitoring.detection.detectors.forecast import ForecastRules, PredictedLow


def naive_forecast() -> PredictedLow:
    """Nightscout's AR(2) as it runs there: the last two raw readings, one forecast is enough."""
    return PredictedLow(ForecastRules(smoothing=1, confirm=1))
