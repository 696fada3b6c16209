"""``monitoring evaluate`` on a small cohort: the system beats the naive baseline, and says so."""

from __future__ import annotations

import json
from pathlib import Path

from monitoring_cli.main import main


def test_the_system_beats_the_naive_baseline_on_a_small_cohort(tmp_path: Path) -> None:
    out = tmp_path / "report"
    args = ["evaluate", "--patients", "12", "--days", "4", "--seed", "3", "--out", str(out)]
    assert main(args) == 0
    report = json.loads((out / "evaluation.json").read_text())
    ours, naive = report["system"], report["naive"]
    assert ours["events"] > 0, "the cohort must hold events to measure anything"
    assert ours["observable_events"] > 0
    assert naive["false_alerts"] >= 5 * max(ours["false_alerts"], 1)
    # Recall: the baseline may catch an event or two more on a tiny cohort, never many more.
    assert ours["recall"] >= naive["recall"] - 0.15
    assert ours["false_alerts_per_patient_day"] < naive["false_alerts_per_patient_day"]
    markdown = (out / "evaluation.md").read_text()
    assert "naive baseline" in markdown
    assert list(out.glob("*.png")), "plots of example patients"
