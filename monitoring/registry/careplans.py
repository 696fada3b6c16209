"""Care-plan thresholds and their defaults by condition.

A patient's care plan holds one threshold per series. At enrolment the defaults
of the patient's conditions are merged (the tightest limit wins) and stored, so
a clinician can then override any of them for that patient.
Sources: see clinical.md (NEWS2, ACC/AHA 2017, consensus CGM ranges, BTS 2017).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, tzinfo

from monitoring.catalogue import Series
from monitoring.domain import Condition, Severity


@dataclass(frozen=True, slots=True)
class Threshold:
    """Alert when a series stays outside [low, high]; clear once back inside by ``hysteresis``.

    The value must stay out of range for ``persist_readings`` consecutive
    readings, or for ``persist_seconds`` when that is set, whichever comes first.
    The high side may persist longer (``high_persist_*``): a fast heart rate for
    a few minutes is exercise, a slow one is not.
    """

    series: Series
    low: float | None
    high: float | None
    severity: Severity
    persist_readings: int = 3
    persist_seconds: int | None = None
    hysteresis: float = 0.0
    high_persist_readings: int | None = None
    high_persist_seconds: int | None = None

    def persistence(self, high: bool) -> tuple[int, int | None]:
        """(readings, seconds) an excursion on this side must last."""
        if high and self.high_persist_readings is not None:
            return self.high_persist_readings, self.high_persist_seconds
        return self.persist_readings, self.persist_seconds

    def __post_init__(self) -> None:
        if self.low is None and self.high is None:
            raise ValueError("a threshold needs a low or a high limit")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError("low limit must be below high limit")
        if self.persist_readings < 1:
            raise ValueError("persist_readings must be at least 1")
        if self.hysteresis < 0:
            raise ValueError("hysteresis cannot be negative")


@dataclass(frozen=True, slots=True)
class CarePlan:
    """What the care team set for one patient: their conditions and their thresholds, and the
    time zone they live in (explanations give times in it)."""

    conditions: frozenset[Condition]
    thresholds: tuple[Threshold, ...]
    zone: tzinfo = UTC


# Limits that apply to everyone monitored, whatever their condition. Persistence is in
# readings or seconds, whichever comes first: a wearable reports every minute, a
# spot-check device a few times a day. Blood pressure above the crisis limit and CGM
# glucose have their own consensus rules (detection.pressure, detection.glucose).
_MIN = 60
_HR_HIGH = 45  # minutes (or minute readings) of a fast rate: exercise is not tachycardia
GENERAL: tuple[Threshold, ...] = (
    Threshold(
        Series.HEART_RATE,
        40,
        130,
        Severity.HIGH,
        5,
        hysteresis=5,
        high_persist_readings=_HR_HIGH,
        high_persist_seconds=_HR_HIGH * _MIN,
    ),
    Threshold(
        Series.SPO2, 91, None, Severity.HIGH, persist_readings=5, persist_seconds=5 * _MIN, hysteresis=2
    ),
    Threshold(
        Series.RESPIRATORY_RATE,
        8,
        25,
        Severity.HIGH,
        persist_readings=5,
        persist_seconds=5 * _MIN,
        hysteresis=2,
    ),
    Threshold(Series.BODY_TEMPERATURE, 35.0, 38.0, Severity.MEDIUM, persist_readings=2, hysteresis=0.3),
    Threshold(Series.BP_SYSTOLIC, 90, None, Severity.HIGH, persist_readings=2, hysteresis=10),
)

BY_CONDITION: dict[Condition, tuple[Threshold, ...]] = {
    # Above 250 mg/dL (the consensus "very high") a person with type 1 should check ketones
    # (ADA) and anyone should call their team, so the team hears of it.
    Condition.TYPE1_DIABETES: (
        Threshold(Series.GLUCOSE_METER, 70, 250, Severity.HIGH, persist_readings=1, hysteresis=10),
    ),
    Condition.TYPE2_DIABETES: (
        Threshold(Series.GLUCOSE_METER, 70, 250, Severity.HIGH, persist_readings=1, hysteresis=10),
    ),
    Condition.HEART_FAILURE: (
        Threshold(
            Series.HEART_RATE,
            45,
            110,
            Severity.HIGH,
            5,
            hysteresis=5,
            high_persist_readings=_HR_HIGH,
            high_persist_seconds=_HR_HIGH * _MIN,
        ),
        Threshold(
            Series.SPO2, 92, None, Severity.HIGH, persist_readings=5, persist_seconds=5 * _MIN, hysteresis=2
        ),
    ),
    Condition.COPD: (
        # Prescribed target 88-92 % (BTS 2017): alert below 88 only.
        Threshold(
            Series.SPO2, 88, None, Severity.HIGH, persist_readings=5, persist_seconds=5 * _MIN, hysteresis=2
        ),
        Threshold(
            Series.RESPIRATORY_RATE,
            8,
            26,
            Severity.HIGH,
            persist_readings=5,
            persist_seconds=5 * _MIN,
            hysteresis=2,
        ),
    ),
    # In AF the rate varies widely from minute to minute: the general low limit, not 45.
    Condition.ATRIAL_FIBRILLATION: (
        Threshold(
            Series.HEART_RATE,
            40,
            110,
            Severity.HIGH,
            5,
            hysteresis=5,
            high_persist_readings=_HR_HIGH,
            high_persist_seconds=_HR_HIGH * _MIN,
        ),
    ),
}


def _merge(current: Threshold, other: Threshold) -> Threshold:
    """Combine two thresholds on one series: tighter limits, higher severity."""
    low = max((v for v in (current.low, other.low) if v is not None), default=None)
    high = min((v for v in (current.high, other.high) if v is not None), default=None)
    return replace(
        current,
        low=low,
        high=high,
        severity=max(current.severity, other.severity, key=lambda s: s.rank),
        persist_readings=min(current.persist_readings, other.persist_readings),
        hysteresis=max(current.hysteresis, other.hysteresis),
    )


def default_thresholds(conditions: Iterable[Condition]) -> dict[Series, Threshold]:
    """The care-plan thresholds a new patient with these conditions starts with.

    A condition's threshold replaces the general one for that series (a COPD
    target of 88 % must not be overridden by the general 91 %); thresholds of
    several conditions on one series are merged.
    """
    conditions = set(conditions)
    by_condition: dict[Series, Threshold] = {}
    for condition in sorted(conditions):
        for threshold in BY_CONDITION.get(condition, ()):
            existing = by_condition.get(threshold.series)
            by_condition[threshold.series] = threshold if existing is None else _merge(existing, threshold)
    if Condition.COPD in conditions:
        # A prescribed SpO2 target (88-92 %) is not tightened by another condition's limit.
        by_condition[Series.SPO2] = next(t for t in BY_CONDITION[Condition.COPD] if t.series is Series.SPO2)
    plan = {t.series: t for t in GENERAL}
    plan.update(by_condition)
    return plan
