"""A reading that arrives after newer ones: single-reading rules still judge it, marked late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from monitoring.catalogue import Series
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import FindingKind
from monitoring.detection.lineup import default_detectors
from monitoring.domain import Condition
from monitoring.readings.records import StandardReading
from monitoring.registry.careplans import CarePlan, default_thresholds

PATIENT, DEVICE = uuid4(), uuid4()
T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
CONDITIONS = frozenset({Condition.TYPE2_DIABETES})


def engine() -> DetectionEngine:
    detection = DetectionEngine(default_detectors())
    detection.set_care_plan(PATIENT, CarePlan(CONDITIONS, tuple(default_thresholds(CONDITIONS).values())))
    return detection


def reading(series: Series, at: datetime, value: float, received: datetime | None = None) -> StandardReading:
    return StandardReading(
        device_id=DEVICE,
        patient_id=PATIENT,
        series=series,
        measured_at=at,
        received_at=received or at,
        value=value,
        seq=0,
    )


def test_a_late_low_meter_reading_still_alerts_and_says_it_is_late() -> None:
    detection = engine()
    assert detection.evaluate([reading(Series.GLUCOSE_METER, T0 + timedelta(hours=9), 120)]) == []
    late = reading(Series.GLUCOSE_METER, T0, 52, received=T0 + timedelta(hours=9, minutes=1))
    findings = detection.evaluate([late])
    assert [(f.alert_type, f.kind) for f in findings] == [("threshold.glucose_meter.low", FindingKind.OPEN)]
    assert findings[0].episode_started_at == T0
    assert findings[0].explanation["late"] == {"received_after_s": 9 * 3600 + 60}
    assert detection.out_of_order == 1


def test_a_late_reading_in_range_raises_nothing_and_changes_no_state() -> None:
    detection = engine()
    detection.evaluate([reading(Series.GLUCOSE_METER, T0 + timedelta(hours=2), 120)])
    before = detection.snapshot(PATIENT)
    assert detection.evaluate([reading(Series.GLUCOSE_METER, T0, 110, T0 + timedelta(hours=2))]) == []
    assert detection.snapshot(PATIENT) == before


def test_a_late_reading_on_a_series_with_persistence_does_not_alert_alone() -> None:
    detection = engine()
    detection.evaluate([reading(Series.HEART_RATE, T0 + timedelta(minutes=10), 70)])
    assert detection.evaluate([reading(Series.HEART_RATE, T0, 30, T0 + timedelta(minutes=30))]) == []


def test_a_redelivered_reading_with_the_same_time_is_not_judged_again() -> None:
    detection = engine()
    first = reading(Series.GLUCOSE_METER, T0, 52)
    assert detection.evaluate([first])
    assert detection.evaluate([first]) == []


def _late_heart_rates(values: list[float], start: datetime, received: datetime) -> list[StandardReading]:
    return [
        reading(Series.HEART_RATE, start + timedelta(seconds=i), v, received) for i, v in enumerate(values)
    ]


def test_a_late_run_of_low_heart_rates_is_its_own_episode_and_alerts_once_marked_late() -> None:
    """A broker node that fails over can take a device's earlier messages after a later one."""
    detection = engine()
    detection.evaluate([reading(Series.HEART_RATE, T0 + timedelta(minutes=10), 70)])
    received = T0 + timedelta(hours=1)  # past late_after: the alert says it is late
    findings = detection.evaluate(_late_heart_rates([72, 31, 30, 29, 33, 32, 30, 71], T0, received))
    assert [(f.alert_type, f.kind) for f in findings] == [("threshold.heart_rate.low", FindingKind.OPEN)]
    assert findings[0].episode_started_at == T0 + timedelta(seconds=1)
    assert findings[0].explanation["observed_count"] == 5
    assert findings[0].explanation["late"] == {"received_after_s": 3600 - 5}  # the fifth reading opens it
    # More of the same late run does not open it again.
    again = detection.evaluate(
        _late_heart_rates([30, 31], T0 + timedelta(seconds=5, milliseconds=500), received)
    )
    assert again == []


def test_a_late_run_broken_by_an_in_range_reading_does_not_alert() -> None:
    detection = engine()
    detection.evaluate([reading(Series.HEART_RATE, T0 + timedelta(minutes=10), 70)])
    late = _late_heart_rates([31, 30, 29, 70, 33, 32, 30], T0, T0 + timedelta(minutes=11))
    assert detection.evaluate(late) == []
