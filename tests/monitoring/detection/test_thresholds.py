from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.detectors.thresholds import ThresholdDetector
from monitoring.detection.findings import Finding, FindingKind, Observation
from monitoring.domain import Severity
from monitoring.registry.careplans import Threshold

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PATIENT, DEVICE = uuid4(), uuid4()


def run(
    values: Sequence[float],
    *,
    threshold: Threshold | None = None,
    step: timedelta = timedelta(minutes=1),
    detector: ThresholdDetector | None = None,
    start: datetime = T0,
) -> list[Finding]:
    threshold = threshold or Threshold(Series.HEART_RATE, 40, 120, Severity.HIGH, 3, hysteresis=5)
    context = PatientContext(PATIENT, thresholds={threshold.series: threshold})
    detector = detector or ThresholdDetector()
    findings: list[Finding] = []
    for i, value in enumerate(values):
        observation = Observation(PATIENT, threshold.series, start + i * step, value, DEVICE)
        findings.extend(detector.observe(observation, context))
    return findings


def kinds(findings: list[Finding]) -> list[str]:
    return [f.kind.value for f in findings]


def test_a_single_spike_does_not_alert() -> None:
    assert run([80, 150, 80, 82, 81]) == []


def test_fewer_consecutive_readings_than_the_window_do_not_alert() -> None:
    assert run([80, 125, 126, 80, 125, 126, 80]) == []


def test_an_alert_opens_on_the_nth_consecutive_reading_out_of_range() -> None:
    findings = run([80, 125, 126, 127])
    assert kinds(findings) == ["open"]
    opened = findings[0]
    assert opened.alert_type == "threshold.heart_rate.high"
    assert opened.at == T0 + timedelta(minutes=3)
    assert opened.episode_started_at == T0 + timedelta(minutes=1)


def test_the_explanation_names_rule_threshold_values_window_and_baseline() -> None:
    opened = run([78, 80, 82, 79, 81, 125, 126, 131])[0]
    explanation = opened.explanation
    assert explanation["rule"] == "heart_rate > 120 /min"
    assert explanation["loinc"] == "8867-4"
    assert explanation["threshold"]["limit"] == 120
    assert [o["value"] for o in explanation["observed"]] == [125, 126, 131]
    assert explanation["window"]["start"] == (T0 + timedelta(minutes=5)).isoformat()
    assert explanation["baseline"]["mean"] == pytest.approx(80, abs=0.5)
    assert "120 /min" in opened.summary
    assert "125, 126, 131" in opened.summary


def test_it_does_not_clear_inside_the_hysteresis_band() -> None:
    # Back under 120 but above 115 (limit - hysteresis): the episode goes on.
    assert kinds(run([125, 126, 127, 119, 118, 117, 116])) == ["open"]


def test_it_clears_after_n_readings_past_the_hysteresis_band() -> None:
    findings = run([125, 126, 127, 110, 112, 111])
    assert kinds(findings) == ["open", "clear"]
    assert findings[1].episode_started_at == findings[0].episode_started_at


def test_one_recovered_reading_is_not_enough_to_clear() -> None:
    assert kinds(run([125, 126, 127, 110, 125, 110, 111])) == ["open", "update"]


def test_a_time_window_opens_an_alert_before_the_reading_count() -> None:
    threshold = Threshold(Series.HEART_RATE, 40, 120, Severity.HIGH, persist_readings=10, persist_seconds=300)
    findings = run([125, 126, 127], threshold=threshold, step=timedelta(minutes=3))
    assert kinds(findings) == ["open"]
    assert findings[0].at == T0 + timedelta(minutes=6)


def test_low_limits_alert_in_their_own_direction() -> None:
    threshold = Threshold(Series.SPO2, 88, None, Severity.HIGH, 3, hysteresis=2)
    findings = run([93, 87, 86, 85], threshold=threshold)
    assert [(f.kind.value, f.alert_type) for f in findings] == [("open", "threshold.spo2.low")]


def test_a_new_episode_after_a_clear_has_a_new_start() -> None:
    detector = ThresholdDetector()
    first = run([125, 126, 127, 100, 100, 100], detector=detector)
    second = run([130, 131, 132], detector=detector, start=T0 + timedelta(hours=1))
    assert kinds(first + second) == ["open", "clear", "open"]
    assert second[0].episode_started_at > first[0].episode_started_at


def test_values_being_flagged_do_not_shift_the_baseline() -> None:
    threshold = Threshold(Series.HEART_RATE, 40, 120, Severity.HIGH, 3, hysteresis=5)
    context = PatientContext(PATIENT, thresholds={Series.HEART_RATE: threshold})
    detector = ThresholdDetector()
    for i, value in enumerate([70, 72, 71, 70, 72] + [150] * 20):
        detector.observe(
            Observation(PATIENT, Series.HEART_RATE, T0 + timedelta(minutes=i), value, DEVICE), context
        )
    usual = context.baseline(Series.HEART_RATE).describe()
    assert usual is not None
    assert usual["mean"] == pytest.approx(71, abs=1)


def test_forget_drops_a_patients_state() -> None:
    detector = ThresholdDetector()
    run([125, 126], detector=detector)
    detector.forget(PATIENT)
    assert run([127], detector=detector) == []


def test_findings_are_deterministic_for_a_replay() -> None:
    values = [80, 125, 126, 127, 128, 100, 100, 100]
    first, again = run(values), run(values)
    assert [(f.kind, f.episode_started_at, f.at) for f in first] == [
        (f.kind, f.episode_started_at, f.at) for f in again
    ]
    assert FindingKind.CLEAR in {f.kind for f in first}
