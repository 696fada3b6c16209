"""The hypoglycaemia-risk detector: when it warns, what it says, and the model it ships with."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.detectors.hypo_features import NAMES
from monitoring.detection.detectors.hypo_risk import WEIGHTS, HypoRisk, RiskModel
from monitoring.detection.findings import Finding, Observation
from monitoring.domain import Condition

P, CGM = UUID(int=1), UUID(int=2)
T0 = datetime(2024, 1, 1, 2, tzinfo=UTC)
SLOW_FALL = [150.0] * 8 + [150.0 - 5 * i for i in range(1, 20)]  # 1 mg/dL a minute, to 55
DIVE = [150, 150, 151, 150, 149, 150, 138, 124, 110, 96]  # -2.8 mg/dL a minute


def run(values: Sequence[float], conditions: frozenset[Condition] = frozenset()) -> list[Finding]:
    detector, context = HypoRisk(), PatientContext(P, conditions)
    found: list[Finding] = []
    for i, value in enumerate(values):
        obs = Observation(P, Series.GLUCOSE_CGM, T0 + timedelta(minutes=5 * i), value, CGM)
        found += detector.observe(obs, context)
    return found


def test_a_steady_fall_is_warned_before_the_low_begins() -> None:
    # Fitted on real traces, mostly of people without diabetes who rebound from a fall, the model
    # warns late on a clean linear fall: at 70, the last reading before the low (see README).
    found = run(SLOW_FALL)
    assert found
    assert found[0].kind.value == "open"
    assert found[0].at <= T0 + timedelta(minutes=5 * SLOW_FALL.index(70))
    assert found[-1].kind.value == "clear"  # the low began: the low-glucose rule takes over


def test_the_alert_says_why() -> None:
    opened = run(SLOW_FALL)[0]
    why = opened.explanation
    assert why["score"]["risk"] >= why["threshold"]["risk"]
    assert len(why["observed"]) >= 5  # the trajectory it judged
    assert why["forecast"]["horizon_min"] == 30
    assert why["forecast"]["method"] == "Nightscout AR2"
    assert set(why["inputs"]) == set(NAMES)
    assert why["drivers"]
    assert all(d["log_odds"] > 0 for d in why["drivers"])
    assert "risk" in opened.summary
    assert "mg/dL" in opened.summary


def test_a_dive_opens_an_urgent_alert_in_type_1_diabetes_only() -> None:
    urgent = run(DIVE, frozenset({Condition.TYPE1_DIABETES}))
    assert urgent
    assert urgent[0].severity.value == "high"
    assert "55 mg/dL" in urgent[0].summary
    assert run(DIVE, frozenset({Condition.TYPE2_DIABETES})) == []


def test_flat_glucose_raises_nothing() -> None:
    assert run([100.0 + (i % 3) for i in range(300)]) == []


def test_the_shipped_model_matches_the_features_and_says_how_it_was_fitted() -> None:
    shipped = json.loads(WEIGHTS.read_text())
    assert shipped["model"]["features"] == list(NAMES)
    assert shipped["trained_on"]["people"] > 100
    assert shipped["trained_on"]["positives"] > 1000
    model = RiskModel.from_json(shipped["model"])
    assert 0.0 < model.risk(model.mean) < 0.1  # a typical reading is rarely followed by a low
    with pytest.raises(ValueError, match="do not match"):
        RiskModel.from_json({**shipped["model"], "features": list(NAMES[:-1])})
