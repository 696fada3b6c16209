import pytest

from monitoring.catalogue import Series
from monitoring.domain import Condition, Severity
from monitoring.registry.careplans import GENERAL, Threshold, default_thresholds


def test_everyone_gets_the_general_limits() -> None:
    plan = default_thresholds([])
    assert {t.series for t in GENERAL} <= set(plan)
    assert plan[Series.SPO2].low == 91


def test_copd_target_is_not_tightened_by_the_general_limit_or_another_condition() -> None:
    plan = default_thresholds([Condition.COPD, Condition.HEART_FAILURE])
    assert plan[Series.SPO2].low == 88


def test_heart_failure_tightens_heart_rate() -> None:
    assert default_thresholds([Condition.HEART_FAILURE])[Series.HEART_RATE].high == 110


def test_diabetes_brings_glucose_limits() -> None:
    plan = default_thresholds([Condition.TYPE1_DIABETES])
    assert (plan[Series.GLUCOSE_METER].low, plan[Series.GLUCOSE_METER].high) == (70, 250)
    assert Series.GLUCOSE_METER not in default_thresholds([Condition.HYPERTENSION])
    # CGM glucose follows the consensus episode rules (detection.glucose), not a care-plan limit.
    assert Series.GLUCOSE_CGM not in plan


@pytest.mark.parametrize(
    "kwargs",
    [
        {"low": None, "high": None},
        {"low": 100, "high": 90},
        {"low": 40, "high": 120, "persist_readings": 0},
        {"low": 40, "high": 120, "hysteresis": -1},
    ],
)
def test_a_threshold_that_cannot_work_is_refused(kwargs: dict[str, float | None]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        Threshold(series=Series.HEART_RATE, severity=Severity.HIGH, **kwargs)  # type: ignore[arg-type]
