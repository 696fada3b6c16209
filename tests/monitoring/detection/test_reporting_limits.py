"""Readings at a CGM's reporting limits are real extremes: believed at once, never a stuck sensor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import FindingKind, Observation
from monitoring.detection.lineup import default_detectors
from monitoring.domain import Condition, Severity
from monitoring.registry.careplans import CarePlan, default_thresholds

P, CGM = UUID(int=1), UUID(int=2)
T0 = datetime(2024, 1, 1, 3, tzinfo=UTC)


def run(values: list[float]) -> list[tuple[str, str, str, int]]:
    conditions = frozenset({Condition.TYPE1_DIABETES})
    engine = DetectionEngine(default_detectors())
    engine.set_care_plan(P, CarePlan(conditions, tuple(default_thresholds(conditions).values())))
    out = []
    for i, value in enumerate(values):
        obs = Observation(P, Series.GLUCOSE_CGM, T0 + timedelta(minutes=5 * i), value, CGM)
        out += [(f.alert_type, f.kind.value, f.severity.value, i) for f in engine.observe(obs)]
    return out


def test_a_run_at_the_low_limit_is_an_urgent_low_not_a_stuck_sensor() -> None:
    # A fall, then an hour at 39.6 mg/dL (2.2 mmol/L: "LOW" on the receiver).
    found = run([110, 100, 90, 80, 72, 64, 55, 48, 43] + [39.6] * 12 + [60, 80, 90, 95, 100])
    assert not [f for f in found if f[0].startswith("device.")]
    lows = [f for f in found if f[0] == "glucose.low"]
    assert lows[0][1] == FindingKind.OPEN.value
    assert any(f[2] == Severity.CRITICAL.value for f in lows), "level 2 at the limit"
    assert lows[-1][1] == FindingKind.CLEAR.value


def test_a_jump_straight_to_the_limit_is_believed_at_once() -> None:
    # 90 to 39.6 in five minutes is faster than the gate believes of a mid-range value.
    found = run([95, 92, 90] + [39.6] * 4 + [90, 92, 95, 95])
    assert ("glucose.low", "open", Severity.CRITICAL.value, 4) in found  # the 2nd reading below 54


def test_the_high_limit_repeats_without_a_stuck_alert() -> None:
    found = run([300, 330, 360, 390] + [399.6] * 30)
    assert not [f for f in found if f[0].startswith("device.")]


def test_the_same_mid_range_value_still_means_a_stuck_sensor() -> None:
    found = run([120.0] * 12)
    assert ("device.stuck_sensor.glucose_cgm", "open") in {(f[0], f[1]) for f in found}
