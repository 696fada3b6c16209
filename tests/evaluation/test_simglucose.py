"""simglucose runs as evaluation input: the detectors see the CGM, the episodes come from the true BG."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from monitoring_cli.main import main

T0 = datetime(2024, 1, 1)


def write_run(path: Path, bg: list[float], cgm_offset: float) -> None:
    """A file in simglucose's own layout (``Time,BG,CGM,CHO,insulin,LBGI,HBGI,Risk``)."""
    lines = ["Time,BG,CGM,CHO,insulin,LBGI,HBGI,Risk"]
    for i, value in enumerate(bg):
        at = T0 + timedelta(minutes=5 * i)
        lines.append(f"{at:%Y-%m-%d %H:%M:%S},{value},{value + cgm_offset},0.0,0.02,0.0,1.0,1.0")
    path.write_text("\n".join(lines) + "\n")


def test_episodes_come_from_the_true_glucose_not_the_sensor(tmp_path: Path) -> None:
    runs, out = tmp_path / "runs", tmp_path / "report"
    runs.mkdir()
    fall = [140.0 - 4 * i for i in range(19)]  # to 68 over 90 minutes
    low = [66.0, 64.0, 62.0, 63.0, 65.0]
    bg = [140.0] * 24 + fall + low + [75.0, 85.0, 95.0] + [110.0] * 24
    # The sensor reads 10 mg/dL high: it never shows < 70 for long, but the patient was low.
    write_run(runs / "adult#001.csv", bg, cgm_offset=10.0)
    assert main(["evaluate", "--simglucose", str(runs), "--out", str(out), "--no-plots"]) == 0
    report = json.loads((out / "simglucose.json").read_text())
    group = report["simglucose"]
    assert report["groups"] == ["simglucose"]
    assert group["people"] == 1
    assert group["episodes"] == 1, "one episode, from BG, though the CGM stayed at 72-76"
    assert (out / "simglucose.md").read_text().startswith("# Glucose alerts on simglucose runs")
