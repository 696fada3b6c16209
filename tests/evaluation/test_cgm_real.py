"""The glucose alerts on the real CGM traces of the shared datasets, through ``monitoring evaluate --cgm``.

What this holds the detectors to, on the held-out people (never used in tuning):
no real hypoglycaemia unalerted 15 minutes after onset (>= 99 %), and the
predictive alert ahead of Nightscout's AR2 wherever their false-alert rates meet.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluation.cgm_report import run_cgm
from tests.services import shared_datasets


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("cgm")
    text = run_cgm(shared_datasets() / "cgm", out)
    assert "held-out people" in text
    assert (out / "cgm.png").stat().st_size > 10_000
    loaded: dict[str, Any] = json.loads((out / "cgm.json").read_text())
    assert (out / "cgm.md").read_text() == text
    return loaded


def test_the_split_keeps_people_apart_and_both_sides_have_episodes(report: dict[str, Any]) -> None:
    held, tuning = report["held_out"], report["tuning"]
    assert held["people"] > 50
    assert tuning["people"] > 150
    assert held["predictable_episodes"] > 100
    assert tuning["predictable_episodes"] > 300


@pytest.mark.parametrize("split", ["held_out", "tuning"])
def test_no_real_hypoglycaemia_goes_unalerted(report: dict[str, Any], split: str) -> None:
    reactive = report[split]["reactive"]["any_glucose_alert"]
    assert reactive["alerted_by_15_min"] >= 0.99, report[split]["misses"]
    assert reactive["alerted_by_end"] >= 0.99


def test_the_predictive_alert_beats_ar2_at_every_usable_matched_false_alert_rate(
    report: dict[str, Any],
) -> None:
    # Up to 10 false alerts per patient-week (more than one a day is past what a care team acts on).
    # Beyond that, at AR2 < 75 mg/dL (15-17 a week), the two are level on the held-out people and
    # AR2 is ahead on the tuning people: the README's table says so; this does not hide it.
    matched = [
        m
        for m in report["held_out"]["matched"]
        if m["system_warned_15_min"] is not None and m["false_alerts_per_patient_week"] <= 10
    ]
    assert len(matched) >= 3
    for m in matched:
        assert m["system_warned_15_min"] > m["ar2_warned_15_min"], m


def test_the_default_point_is_on_the_published_side_of_the_curve(report: dict[str, Any]) -> None:
    system = report["held_out"]["predictive"]["system"]
    ar2 = report["held_out"]["predictive"]["ar2_below_70"]
    # Fewer false alerts than AR2 at its usual limit, at better precision.
    assert system["false_alerts_per_patient_week"] < ar2["false_alerts_per_patient_week"]
    assert system["precision"] > ar2["precision"]
