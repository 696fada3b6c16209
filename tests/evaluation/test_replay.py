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
    assert list(result[0]) == ["timestamp", "value", "score", "z", "alerts", "refused"]
    assert len(result) == len(rows)
    assert [r["timestamp"] for r in result] == [str(t) for t, _ in rows], "the input's own timestamps"
    scores = [float(r["score"]) if r["score"] else 0.0 for r in result]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] == 0.0, "no score before the model has seen the patient"
    assert result[0]["z"] == "", "no z either"
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


def test_bad_rows_are_refused_with_a_reason_and_the_file_goes_on(tmp_path: Path) -> None:
    source, out = tmp_path / "bad.csv", tmp_path / "out.csv"
    source.write_text(
        "Timestamp,Value\n"
        "2026-03-02T00:00:00Z,70\n"
        "not-a-time,71\n"
        "2026-03-02T00:02:00Z,\n"
        "2026-03-02T00:03:00Z,seventy\n"
        "2026-03-02T00:04:00Z,0\n"  # a sensor off the skin: implausible, as live ingestion says
        "2026-03-02T00:04:00Z,72\n"
        "2026-03-02T00:05:00Z,nan\n"
        "2026-03-02T00:01:00Z,71\n"  # out of order: replayed in time order, written where it was
    )
    assert main(["replay", str(source), "--metric", "heart_rate", "--out", str(out)]) == 0
    result = _read(out)
    assert [r["refused"] for r in result] == [
        "",
        "unreadable time 'not-a-time'",
        "missing value",
        "value 'seventy' is not a number",
        "heart_rate 0 /min is outside the plausible range 20-300 /min",
        "",
        "missing value",
        "",
    ]
    assert [r["value"] for r in result if not r["refused"]] == ["70", "72", "71"]


def test_whole_file_problems_say_how_to_put_them_right(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("when,reading\n2026-03-02T00:00:00Z,70\n")
    assert main(["replay", str(source), "--metric", "heart_rate", "--out", str(out)]) == 2
    assert "needs a time column" in caplog.text
    source.write_text("timestamp,value\n2026-03-02T00:00:00Z,70\n")
    assert main(["replay", str(source), "--metric", "nonsense", "--out", str(out)]) == 2
    assert "unknown metric 'nonsense'" in caplog.text
    assert main(["replay", str(source), "--metric", "glucose_cgm", "--unit", "g/L", "--out", str(out)]) == 2
    assert "use one of mg/dL, mmol/L" in caplog.text
    args = ["replay", str(source), "--metric", "heart_rate", "--conditions", "gout", "--out", str(out)]
    assert main(args) == 2
    assert "unknown condition 'gout'" in caplog.text
    args = ["replay", str(source), "--metric", "other", "--conditions", "copd", "--out", str(out)]
    assert main(args) == 2
    assert "do not apply to --metric other" in caplog.text


def test_help_lists_metrics_units_and_conditions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    text = capsys.readouterr().out
    for expected in (
        "glucose_cgm",
        "mmol/L",
        "[degF]",
        "bp_systolic",
        "other",
        "heart_failure",
        "id,time,value",
    ):
        assert expected in text


def test_many_people_in_one_file_with_units_in_any_case(tmp_path: Path) -> None:
    source, out = tmp_path / "cgm.csv", tmp_path / "out.csv"
    lines = ["id,time,gl"]
    for person, level in (("a", 6.0), ("b", 8.0)):
        lines += [
            f"{person},2024-01-01 {h:02d}:{m:02d}:00,{level}" for h in range(2) for m in range(0, 60, 5)
        ]
    lines.insert(5, "a,2024-01-01 00:12:00,1.0")  # 18 mg/dL: plausible, and a low for the rules
    source.write_text("\n".join(lines) + "\n")
    args = ["replay", str(source), "--metric", "glucose_cgm", "--unit", "MMOL/l", "--out", str(out)]
    assert main([*args, "--conditions", "Type1_Diabetes"]) == 0
    result = _read(out)
    assert list(result[0])[:2] == ["id", "timestamp"]
    assert [r["id"] for r in result] == [line.split(",")[0] for line in lines[1:]], "input order"
    assert result[0]["timestamp"] == "2024-01-01 00:00:00"
    assert round(float(result[0]["value"])) == 108  # 6.0 mmol/L in mg/dL
    assert {round(float(r["value"])) for r in result if r["id"] == "b"} == {144}


def test_the_generic_model_follows_a_new_normal_and_its_score_ranks(tmp_path: Path) -> None:
    rows = [(str((T0 + timedelta(minutes=m)).timestamp()), 10.0 + (m % 7) * 0.1) for m in range(1000)]
    rows += [(str((T0 + timedelta(minutes=1000 + m)).timestamp()), 14.0 + (m % 7) * 0.1) for m in range(1500)]
    source, out = tmp_path / "shift.csv", tmp_path / "out.csv"
    _write_csv(source, rows)
    assert main(["replay", str(source), "--metric", "other", "--out", str(out)]) == 0
    result = _read(out)
    zs = [abs(float(r["z"])) if r["z"] else 0.0 for r in result]
    assert [r["alerts"] for r in result if r["alerts"]] == ["personal.departure"], "one alert, at the shift"
    settled = max(i for i, z in enumerate(zs) if z >= 4) - 1000
    assert settled < 400, f"still anomalous {settled} readings after the shift"
    # Where the [0, 1] score saturates, z still orders the readings.
    top = sorted(range(len(zs)), key=lambda i: -zs[i])[:3]
    assert len({result[i]["z"] for i in top}) == 3


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
