"""The detector line-up the service runs, and the naive one it is measured against."""

from __future__ import annotations

from monitoring.detection.base import Detector
from monitoring.detection.forecast import ForecastRules, PredictedLow
from monitoring.detection.glucose import GlucoseEpisodes
from monitoring.detection.models import PersonalModels
from monitoring.detection.news2 import News2
from monitoring.detection.pressure import BloodPressure
from monitoring.detection.rhythm import RapidIrregularRate
from monitoring.detection.thresholds import ThresholdDetector
from monitoring.detection.weight import WeightGain


def default_detectors() -> list[Detector]:
    """Clinical rules first, personal models last (they read the rules' flags)."""
    return [
        ThresholdDetector(),
        GlucoseEpisodes(),
        PredictedLow(),
        BloodPressure(),
        WeightGain(),
        News2(),
        RapidIrregularRate(),
        PersonalModels(),
    ]


def naive_forecast() -> PredictedLow:
    """Nightscout's AR(2) as it runs there: last two raw readings, one forecast is enough."""
    return PredictedLow(ForecastRules(smoothing=1, confirm=1))
