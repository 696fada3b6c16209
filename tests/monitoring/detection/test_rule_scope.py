"""Each clinical rule says whom it applies to, and the engine keeps to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from monitoring.catalogue import Series
from monitoring.detection.base import EVERYONE, Scope
from monitoring.detection.detectors.weight import WeightGain
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import Observation
from monitoring.detection.lineup import default_detectors
from monitoring.domain import Condition, Severity
from monitoring.registry.careplans import CarePlan, Threshold, default_thresholds

P, SCALE = UUID(int=1), UUID(int=2)
T0 = datetime(2024, 1, 1, 7, tzinfo=UTC)
GAIN = [80.0, 80.2, 79.9, 80.8, 81.5, 82.1]  # 2.2 kg in 3 days


def weight_alerts(conditions: set[Condition], extra: tuple[Threshold, ...] = ()) -> list[str]:
    chosen = frozenset(conditions)
    engine = DetectionEngine(default_detectors())
    engine.set_care_plan(P, CarePlan(chosen, tuple(default_thresholds(chosen).values()) + extra))
    found = []
    for day, kg in enumerate(GAIN):
        obs = Observation(P, Series.BODY_WEIGHT, T0 + timedelta(days=day), kg, SCALE)
        found += [f.alert_type for f in engine.observe(obs) if f.detector == WeightGain.name]
    return found


def test_weight_gain_is_not_fluid_retention_without_heart_failure() -> None:
    assert weight_alerts({Condition.HYPERTENSION, Condition.TYPE2_DIABETES}) == []


def test_weight_gain_alerts_in_heart_failure() -> None:
    assert weight_alerts({Condition.HEART_FAILURE}) == ["hf.weight_gain"]


def test_a_care_plan_with_a_weight_limit_opts_a_patient_in() -> None:
    limit = Threshold(Series.BODY_WEIGHT, None, 150, Severity.MEDIUM)
    assert weight_alerts({Condition.HYPERTENSION}, (limit,)) == ["hf.weight_gain"]


@pytest.mark.parametrize("detector", default_detectors(), ids=lambda d: d.name)
def test_every_rule_states_whom_it_applies_to(detector: object) -> None:
    scope: Scope = getattr(detector, "scope", EVERYONE)
    expected = {WeightGain.name: "patients with heart failure, or a care plan with a body_weight limit"}
    assert scope.describe() == expected.get(getattr(detector, "name", ""), "every patient")
