"""The detector line-up the service runs, in order."""

from __future__ import annotations

from monitoring.detection.base import Detector
from monitoring.detection.detectors.glucose import GlucoseEpisodes
from monitoring.detection.detectors.hypo_risk import HypoRisk
from monitoring.detection.detectors.news2 import News2
from monitoring.detection.detectors.personal.models import PersonalModels
from monitoring.detection.detectors.pressure import BloodPressure
from monitoring.detection.detectors.rhythm import RapidIrregularRate
from monitoring.detection.detectors.thresholds import ThresholdDetector
from monitoring.detection.detectors.weight import WeightGain


def default_detectors() -> list[Detector]:
    """Clinical rules first, personal models last (they read the rules' flags)."""
    return [
        ThresholdDetector(),
        GlucoseEpisodes(),
        HypoRisk(),
        BloodPressure(),
        WeightGain(),
        News2(),
        RapidIrregularRate(),
        PersonalModels(),
    ]
