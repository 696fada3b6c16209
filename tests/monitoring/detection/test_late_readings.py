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
