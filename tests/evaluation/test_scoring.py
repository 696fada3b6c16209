"""Matching alerts to labelled events: what counts as detecting an event, and what is false."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from evaluation.offline import SLOT_S, AlertRecord, RunResult
from evaluation.scoring import score

START = datetime(2026, 3, 2, tzinfo=UTC)
ONSET = START + timedelta(hours=6)


def _label(kind: str, event_type: str, metrics: list[str], hours: float) -> dict[str, Any]:
    return {
        "patient": "P1",
        "type": event_type,
        "kind": kind,
        "start": ONSET.isoformat(),
        "end": (ONSET + timedelta(hours=hours)).isoformat(),
        "metrics": metrics,
    }


def _run(alert_type: str, series: str | None, opened: datetime, measured: str) -> RunResult:
    result = RunResult()
    result.alerts.append(AlertRecord("P1", alert_type, "high", opened, opened, series, "..."))
    slots = range(0, int(timedelta(days=1).total_seconds() // SLOT_S))
    result.observed_slots[("P1", measured)] = set(slots)
    return result


def _detected(labels: list[dict[str, Any]], result: RunResult) -> tuple[int, int]:
    report = score(labels, result, patients=1, days=1, start=START)
    return sum(row["detected"] for row in report["by_event_type"].values()), report["false_alerts"]


def test_an_acute_alert_shortly_before_the_labelled_start_detects_the_event() -> None:
    labels = [_label("event", "bradycardia", ["heart_rate"], 1)]
    for minutes, expected in ((-10, (1, 0)), (-29, (1, 0)), (-45, (0, 1)), (30, (1, 0))):
        opened = ONSET + timedelta(minutes=minutes)
        result = _run("threshold.heart_rate.low", "heart_rate", opened, "heart_rate")
        result.alerts[0].cleared_at = opened + timedelta(minutes=10)  # an earlier episode, over
        result.traces[("P1", "heart_rate")] = [(ONSET + timedelta(minutes=10), 36.0)]  # under 40
        assert _detected(labels, result) == expected, minutes


def test_a_slow_event_is_not_detected_by_an_alert_before_it_began() -> None:
    labels = [_label("event", "hf_decompensation", ["body_weight"], 72)]
    result = _run("hf.weight_gain", "body_weight", ONSET - timedelta(minutes=10), "body_weight")
    assert _detected(labels, result) == (0, 1)


def test_a_crisis_whose_readings_stayed_under_180_120_is_not_clinically_significant() -> None:
    labels = [_label("event", "hypertensive_crisis", ["blood_pressure"], 3)]
    for systolic, significant in ((179.0, 0), (186.0, 1)):
        result = _run(
            "threshold.bp_systolic.high", "bp_systolic", ONSET + timedelta(minutes=5), "blood_pressure"
        )
        result.traces[("P1", "bp_systolic")] = [(ONSET + timedelta(minutes=20), systolic)]
        result.traces[("P1", "bp_diastolic")] = [(ONSET + timedelta(minutes=20), 115.0)]
        report = score(labels, result, patients=1, days=1, start=START)
        assert report["significant_events"] == significant


def test_a_low_alert_still_open_when_a_new_low_is_labelled_detects_it() -> None:
    labels = [_label("event", "hypoglycaemia_l1", ["glucose_cgm"], 1)]
    for cleared, expected in (
        (None, 1),
        (ONSET + timedelta(minutes=20), 1),
        (ONSET - timedelta(minutes=5), 0),
    ):
        result = _run("glucose.low", "glucose_cgm", ONSET - timedelta(minutes=45), "glucose_cgm")
        result.alerts[0].cleared_at = cleared
        result.traces[("P1", "glucose_cgm")] = [(ONSET + timedelta(minutes=m), 55.0) for m in range(0, 25, 5)]
        report = score(labels, result, patients=1, days=1, start=START)
        assert report["significant_events"] == 1
        assert sum(row["detected"] for row in report["by_event_type"].values()) == expected, cleared


def test_a_decompensation_peaking_after_the_run_deadline_is_censored_not_missed() -> None:
    """Judged by a flag 24 h before its peak: a peak more than a day after the run's end is unknown."""
    for peak_after_end, censored in ((timedelta(hours=20), 0), (timedelta(hours=30), 1)):
        label = _label("event", "hf_decompensation", ["body_weight"], 24 * 5)
        label["peak"] = (START + timedelta(days=1) + peak_after_end).isoformat()
        result = _run("threshold.spo2.low", "spo2", ONSET + timedelta(hours=1), "body_weight")
        report = score([label], result, patients=1, days=1, start=START)
        assert report["censored_events"] == censored
        assert report["significant_events"] == 1 - censored
        assert len(report["missed"]) == 1 - censored
        assert report["false_alerts"] == 1  # an SpO2 alert is not about the event's weight, either way
