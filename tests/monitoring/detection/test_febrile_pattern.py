"""The wearable febrile pattern: skin temperature and heart rate up together against the patient's own."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.detectors.personal.fever import ALERT_TYPE
from monitoring.detection.detectors.personal.models import PersonalModels
from monitoring.detection.findings import Finding, FindingKind, Observation

T0 = datetime(2026, 3, 2, tzinfo=UTC)
PATIENT, WEARABLE = UUID(int=1), UUID(int=2)
FEVER_START = T0 + timedelta(days=2, hours=6)
FEVER_END = FEVER_START + timedelta(hours=20)


def _rise(at: datetime) -> tuple[float, float]:
    """(skin degC, heart /min) added by what happens at ``at``."""
    walk = T0 + timedelta(days=1, hours=10)
    bath = T0 + timedelta(days=1, hours=21)
    if walk <= at < walk + timedelta(hours=2):  # brisk walk: fast heart, wrist cools
        return -0.3, 35.0
    if bath <= at < bath + timedelta(minutes=40):  # warm bath: warm skin, heart barely moves
        return 1.2, 6.0
    if FEVER_START <= at < FEVER_END:
        onset = min(1.0, (at - FEVER_START) / timedelta(hours=4))
        return 1.1 * onset, 18.0 * onset
    return 0.0, 0.0


def _stream(days: int = 4) -> list[Observation]:
    rng = random.Random(3)
    out: list[Observation] = []
    for minute in range(days * 1440):
        at = T0 + timedelta(minutes=minute)
        circadian = math.cos(2 * math.pi * (minute / 60 - 16) / 24)
        skin_rise, heart_rise = _rise(at)
        heart = 66 + 4 * circadian + heart_rise + rng.gauss(0, 2.5)
        skin = 33.4 + 0.5 * circadian + skin_rise + rng.gauss(0, 0.15)
        out.append(Observation(PATIENT, Series.HEART_RATE, at, round(heart), WEARABLE, sqi=0.95))
        out.append(Observation(PATIENT, Series.SKIN_TEMPERATURE, at, round(skin, 2), WEARABLE, sqi=0.95))
    return out


def _run(observations: list[Observation]) -> list[Finding]:
    models, context = PersonalModels(), PatientContext(PATIENT)
    found: list[Finding] = []
    for obs in observations:
        found.extend(models.observe(obs, context))
    return found


def test_skin_temperature_and_heart_rate_up_together_for_hours_is_a_possible_fever() -> None:
    found = _run(_stream())
    fever = [f for f in found if f.alert_type == ALERT_TYPE]
    opened = [f for f in fever if f.kind is FindingKind.OPEN]
    assert len(opened) == 1, [(f.alert_type, f.at) for f in found]
    alert = opened[0]
    # Not on the walk (heart alone) nor the bath (skin alone, briefly); within hours of the onset.
    assert FEVER_START < alert.at < FEVER_START + timedelta(hours=6)
    drivers = {d["series"]: d["departure"] for d in alert.explanation["drivers"]}
    assert drivers["skin_temperature"] >= 0.6
    assert drivers["heart_rate"] >= 8
    assert "thermometer" in alert.summary
    assert "usual" in alert.summary
    cleared = [f for f in fever if f.kind is FindingKind.CLEAR]
    assert len(cleared) == 1
    assert FEVER_END < cleared[0].at < FEVER_END + timedelta(hours=6)
    # The fever's heart rate and skin temperature do not also make a "deterioration".
    assert not [f for f in found if f.alert_type == "personal.deterioration"]


def test_no_fever_alert_in_the_first_day_before_the_patient_is_known() -> None:
    assert not _run(_stream(days=1))
