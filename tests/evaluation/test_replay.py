"""``monitoring replay`` over CSV and wire-format JSONL files."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitoring_cli.main import main
from simulators.cohort import build_cohort
from simulators.engine import Send, stream
from simulators.sinks import JsonlSink

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _write_csv(path: Path, rows: Sequence[tuple[object, float]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["timestamp", "value"])
        writer.writerows(rows)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as source:
        return list(csv.DictReader(source))


def test_a_csv_heart_rate_series_gets_scores_and_the_bradycardia_alert(tmp_path: Path) -> None:
    rows: list[tuple[object, float]] = []
    for minute in range(3 * 1440):
        at = T0 + timedelta(minutes=minute)
        value = 70 + 3 * math.sin(minute / 97) + (minute % 5) * 0.5
        if 3 * 1440 - 30 <= minute < 3 * 1440 - 20:
            value = 35
        # ISO 8601 and epoch seconds both parse.
        rows.append((at.isoformat() if minute % 2 else str(at.timestamp()), round(value, 1)))
    source, out = tmp_path / "hr.csv", tmp_path / "out.csv"
    _write_csv(source, rows)
    assert main(["replay", str(source), "--metric", "heart_rate", "--out", str(out)]) == 0
    result = _read(out)
    assert list(result[0]) == ["timestamp", "value", "score", "alerts"]
    assert len(result) == len(rows)
    scores = [float(r["score"]) for r in result]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] == 0.0, "no score before the model has seen the patient"
    raised = [(r["timestamp"], r["alerts"]) for r in result if r["alerts"]]
    assert any("threshold.heart_rate.low" in alerts for _, alerts in raised)
    brady = next(r for r in result if r["alerts"] and "threshold.heart_rate.low" in r["alerts"])
    assert float(brady["score"]) > 0.999, "the bradycardia is far from this patient's usual"


def test_an_unknown_metric_runs_the_generic_model_alone(tmp_path: Path) -> None:
    rows = [(str((T0 + timedelta(minutes=m)).timestamp()), 10.0 + (m % 7) * 0.1) for m in range(2000)]
    rows += [(str((T0 + timedelta(minutes=2000 + m)).timestamp()), 25.0) for m in range(5)]
    source, out = tmp_path / "other.csv", tmp_path / "out.csv"
    _write_csv(source, rows)
    assert main(["replay", str(source), "--metric", "other", "--out", str(out)]) == 0
    result = _read(out)
    assert [r["alerts"] for r in result if r["alerts"]] == ["personal.departure"]
    assert float(result[-1]["score"]) > 0.99


def test_a_unit_is_converted_before_detection(tmp_path: Path) -> None:
    source, out = tmp_path / "t.csv", tmp_path / "out.csv"
    _write_csv(source, [(str((T0 + timedelta(hours=h)).timestamp()), 98.6) for h in range(3)])
    assert (
        main(["replay", str(source), "--metric", "body_temperature", "--unit", "[degF]", "--out", str(out)])
        == 0
    )
    assert {round(float(r["value"]), 1) for r in _read(out)} == {37.0}


def test_bad_input_is_refused_with_the_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source, out = tmp_path / "bad.csv", tmp_path / "out.csv"
    source.write_text("timestamp,value\n2026-03-02T00:00:00Z,70\nnot-a-time,71\n")
    assert main(["replay", str(source), "--metric", "heart_rate", "--out", str(out)]) == 2
    assert "line 3" in caplog.text
    assert main(["replay", str(source), "--metric", "nonsense", "--out", str(out)]) == 2
    assert "unknown metric" in caplog.text


def test_a_wire_format_stream_of_several_patients(tmp_path: Path) -> None:
    cohort = build_cohort(
        size=3, start=T0, days=1, seed=5, conditions=[("atrial_fibrillation",), (), ("copd",)]
    )
    source = tmp_path / "cohort.jsonl"
    with source.open("wb") as out:
        sink = JsonlSink(out)
        sends = 0
        for item in stream(cohort):
            sink.handle(item, "")
            sends += isinstance(item, Send)
        out.write(b"this line is not a message\n")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(cohort.manifest()))
    out_path = tmp_path / "out.csv"
    assert main(["replay", str(source), "--manifest", str(manifest), "--out", str(out_path)]) == 0
    result = _read(out_path)
    assert list(result[0]) == ["timestamp", "patient", "device", "metric", "value", "score", "alerts"]
    assert {r["patient"] for r in result} == {p.mrn for p in cohort.patients}
    assert {"heart_rate", "spo2", "respiratory_rate"} <= {r["metric"] for r in result}
    assert [r["timestamp"] for r in result] == sorted(r["timestamp"] for r in result)
