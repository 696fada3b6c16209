"""The generic personal model against a plain online z-score on real series that are not vital signs."""

from __future__ import annotations

from evaluation.generic_check import airline_passengers, check, segments, water_flow


def test_the_labels_follow_the_water_flow_description() -> None:
    found = segments(water_flow().labels)
    assert len(found) == 4, "three low moments and one pumping peak"


def test_the_generic_model_beats_a_running_z_score() -> None:
    report = check()
    water = report[water_flow().name]
    ours, plain = water["generic personal model"], water["running z-score"]
    assert ours["segments_alerted"] > plain["segments_alerted"]
    assert ours["average_precision"] > plain["average_precision"]
    assert ours["false_alerts"] <= plain["false_alerts"]
    # A level that trebles over twelve years is a new normal, not an anomaly.
    assert report[airline_passengers().name]["generic personal model"]["false_alerts"] == 0
