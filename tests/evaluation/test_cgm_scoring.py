"""The counting rules of the real-data evaluation, on hand-made alerts and episodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evaluation.cgm_data import Episode
from evaluation.cgm_scoring import Interval, predictive, reactive, reactive_summary

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
ONSET = T0 + timedelta(hours=2)
EPISODE = Episode("s:1", ONSET, ONSET + timedelta(minutes=30), 60.0, False, timedelta(hours=2))


def minutes(m: float) -> datetime:
    return ONSET + timedelta(minutes=m)


def test_true_false_and_during_alerts_are_told_apart() -> None:
    alerts = [minutes(-20), minutes(-90), minutes(10), minutes(-5)]
    tally = predictive([EPISODE], alerts, timedelta(days=7))
    assert (tally.true_alerts, tally.false_alerts, tally.during) == (2, 1, 1)
    summary = tally.summary()
    assert summary["warned_15_min"] == 1.0  # the earliest true alert led by 20 minutes
    assert summary["median_lead_min"] == 20.0
    assert summary["false_alerts_per_patient_week"] == 1.0
    assert summary["precision"] == round(2 / 3, 4)


def test_a_warning_under_15_minutes_counts_before_onset_only() -> None:
    summary = predictive([EPISODE], [minutes(-10)], timedelta(days=7)).summary()
    assert (summary["warned_15_min"], summary["warned_0_min"]) == (0.0, 1.0)


def test_an_alert_more_than_an_hour_ahead_is_false() -> None:
    summary = predictive([EPISODE], [minutes(-61)], timedelta(days=7)).summary()
    assert (summary["warned_0_min"], summary["false_alerts_per_patient_week"]) == (0.0, 1.0)


def test_unpredictable_episodes_are_left_out_of_the_predictive_share() -> None:
    short = Episode("s:1", ONSET, ONSET + timedelta(minutes=30), 60.0, False, timedelta(minutes=10))
    assert predictive([short], [minutes(-20)], timedelta(days=7)).episodes == 0


def test_reactive_counts_any_alert_open_from_an_hour_before_onset() -> None:
    still_open = Interval(minutes(-50))  # a warning that never cleared
    late = Interval(minutes(20), minutes(40))
    (early,) = reactive([EPISODE], [still_open])
    (after,) = reactive([EPISODE], [late])
    assert (early.by_15, early.delay_min) == (True, 0.0)
    assert (after.by_15, after.by_end, after.delay_min) == (False, True, 20.0)
    assert reactive_summary([early, after])["alerted_by_15_min"] == 0.5
    assert reactive([EPISODE], [Interval(minutes(-120), minutes(-70))])[0].by_end is False
