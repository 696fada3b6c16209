"""``monitoring evaluate --cgm DIR``: the glucose alerts scored on real CGM traces, with AR2 beside them.

Writes ``cgm.json``, ``cgm.md`` and ``cgm.png`` (the operating curves) for the
tuning and the held-out people separately.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from evaluation.cgm_data import (
    Episode,
    Trace,
    dataset_files,
    episodes,
    held_out,
    read_simglucose,
    read_traces,
)
from evaluation.cgm_realism import compare
from evaluation.cgm_realism import markdown as realism_markdown
from evaluation.cgm_replay import PersonRun, ar2_alerts, replay, risk_alerts, urgent_alerts
from evaluation.cgm_scoring import Tally, predictive, reactive, reactive_summary
from monitoring.detection.detectors.hypo_risk import RiskRules

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
AR2_LIMITS = (55, 60, 65, 70, 75, 80, 85, 90)
SPLITS = ("held_out", "tuning")


def _tally(
    runs: Sequence[PersonRun], found: dict[str, list[Episode]], alerts: Callable[[PersonRun], list[datetime]]
) -> dict[str, Any]:
    total = Tally(leads=[])
    for run in runs:
        total.add(predictive(found[run.trace.person], alerts(run), run.trace.covered()))
    return total.summary()


def _risk_alerts(run: PersonRun, *, rules: RiskRules) -> list[datetime]:
    return risk_alerts(run, rules)


def _ar2_alerts(run: PersonRun, *, limit: float) -> list[datetime]:
    return ar2_alerts(run.trace, limit)


def _curves(runs: Sequence[PersonRun], found: dict[str, list[Episode]]) -> dict[str, Any]:
    base = RiskRules()
    system = []
    for threshold in THRESHOLDS:
        rules = replace(base, threshold=threshold, clear_at=threshold / 2)
        point = _tally(runs, found, partial(_risk_alerts, rules=rules))
        system.append({"threshold": threshold, **point})
    ar2 = []
    for limit in AR2_LIMITS:
        point = _tally(runs, found, partial(_ar2_alerts, limit=limit))
        ar2.append({"limit_mg_dl": limit, **point})
    return {"system": system, "ar2": ar2}


def _at_rate(curve: Sequence[dict[str, Any]], rate: float) -> float | None:
    """Share warned >= 15 min at a false-alert rate, interpolated along a curve (None outside it)."""
    pts: list[tuple[float, float]] = sorted(
        (float(p["false_alerts_per_patient_week"]), float(p["warned_15_min"]))
        for p in curve
        if p["false_alerts_per_patient_week"] is not None and p["warned_15_min"] is not None
    )
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if x0 <= rate <= x1:
            return round(y0 + (y1 - y0) * (rate - x0) / (x1 - x0) if x1 > x0 else max(y0, y1), 4)
    return None


def _misses(runs: Sequence[PersonRun], found: dict[str, list[Episode]]) -> list[dict[str, Any]]:
    """Episodes with no glucose alert by 15 minutes after onset, and why."""
    out = []
    for run in runs:
        for r in reactive(found[run.trace.person], run.glucose_alerts()):
            if r.by_15:
                continue
            e = r.episode
            window = [t for t in run.trace.times if e.onset <= t <= e.end]
            seen = {p.at for p in run.risks}  # every reading the gate let through reached the risk model
            held = sum(t not in seen for t in window)
            why = (
                f"the quality gate held {held} of its {len(window)} readings"
                if held
                else "the low rule needs two readings below 70 and the risk model stayed below its threshold"
            )
            out.append(
                {
                    "person": run.trace.person,
                    "onset": e.onset.isoformat(),
                    "end": e.end.isoformat(),
                    "nadir": e.nadir,
                    "alerted_by_end": r.by_end,
                    "why": why,
                }
            )
    return out


def split_report(runs: Sequence[PersonRun], truth: dict[str, Trace] | None = None) -> dict[str, Any]:
    """One group of people; episodes from ``truth`` (a simulator's true glucose) where given."""
    found = {run.trace.person: episodes((truth or {}).get(run.trace.person, run.trace)) for run in runs}
    all_episodes = [e for eps in found.values() for e in eps]
    weeks = sum(run.trace.covered().total_seconds() for run in runs) / (7 * 86400)
    curves = _curves(runs, found)
    return {
        "people": len(runs),
        "patient_weeks": round(weeks, 1),
        "episodes": len(all_episodes),
        "predictable_episodes": sum(e.predictable for e in all_episodes),
        "level2_episodes": sum(e.level2 for e in all_episodes),
        "predictive": {
            "system": _tally(runs, found, lambda run: run.opened("glucose.predicted_low")),
            "ar2_below_70": _tally(runs, found, lambda run: ar2_alerts(run.trace, 70)),
            "urgent_low_soon": _tally(runs, found, urgent_alerts),
        },
        "curves": curves,
        "matched": [
            {
                "ar2_limit": p["limit_mg_dl"],
                "false_alerts_per_patient_week": p["false_alerts_per_patient_week"],
                "ar2_warned_15_min": p["warned_15_min"],
                "system_warned_15_min": _at_rate(curves["system"], p["false_alerts_per_patient_week"] or 0),
            }
            for p in curves["ar2"]
        ],
        "reactive": {
            "any_glucose_alert": reactive_summary(
                [r for run in runs for r in reactive(found[run.trace.person], run.glucose_alerts())]
            ),
            "glucose_low_alone": reactive_summary(
                [
                    r
                    for run in runs
                    for r in reactive(found[run.trace.person], run.alerts.get("glucose.low", []))
                ]
            ),
        },
        "misses": _misses(runs, found),
    }


def evaluate_cgm(directory: Path) -> dict[str, Any]:
    traces = read_traces(dataset_files(directory))
    runs = list(replay(traces))
    by_split: dict[str, list[PersonRun]] = {name: [] for name in SPLITS}
    for run in runs:
        by_split["held_out" if held_out(run.trace.person) else "tuning"].append(run)
    return {
        "data": {"directory": directory.name, "files": [p.name for p in dataset_files(directory)]},
        "groups": list(SPLITS),
        "realism": compare(traces),
        "rules": repr(RiskRules()),
        **{name: split_report(by_split[name]) for name in SPLITS},
    }


def evaluate_simglucose(directory: Path) -> dict[str, Any]:
    """simglucose runs: the detectors on the CGM signal, episodes from the true blood glucose."""
    pairs = read_simglucose(sorted(directory.glob("*.csv")))
    if not pairs:
        raise FileNotFoundError(f"no simglucose CSV files in {directory}")
    runs = list(replay([cgm for cgm, _ in pairs]))
    truth = {bg.person: bg for _, bg in pairs}
    return {
        "data": {
            "directory": directory.name,
            "files": [f"{cgm.person.split(':', 1)[1]}.csv" for cgm, _ in pairs],
        },
        "groups": ["simglucose"],
        "rules": repr(RiskRules()),
        "simglucose": split_report(runs, truth),
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def markdown(report: dict[str, Any]) -> str:
    title = (
        "simglucose runs (episodes from true blood glucose)" if "simglucose" in report else "real CGM traces"
    )
    lines = [f"# Glucose alerts on {title}", ""]
    lines += [f"Data: {', '.join(report['data']['files'])}. Counting rules: `evaluation/cgm_scoring.py`.", ""]
    for name in report["groups"]:
        s = report[name]
        lines += [
            f"## {name.replace('_', '-')} people",
            "",
            f"{s['people']} people, {s['patient_weeks']} patient-weeks, {s['episodes']} episodes "
            f"({s['predictable_episodes']} predictable, {s['level2_episodes']} level 2).",
            "",
            "| predictive alert | warned >= 15 min | warned >= 0 min | false / patient-week "
            "| precision | median lead |",
            "|---|---|---|---|---|---|",
        ]
        rows = [
            ("system (default)", s["predictive"]["system"]),
            ("AR2 < 70", s["predictive"]["ar2_below_70"]),
            ("urgent low soon (<= 55 in 20 min) alone", s["predictive"]["urgent_low_soon"]),
        ]
        rows += [(f"system, risk >= {p['threshold']}", p) for p in s["curves"]["system"]]
        rows += [(f"AR2 < {p['limit_mg_dl']}", p) for p in s["curves"]["ar2"]]
        for label, p in rows:
            lines.append(
                f"| {label} | {_pct(p['warned_15_min'])} | {_pct(p['warned_0_min'])} | "
                f"{p['false_alerts_per_patient_week']} | {_pct(p['precision'])} | "
                f"{p['median_lead_min']} min |"
            )
        lines += ["", "At AR2's false-alert rates (warned >= 15 min ahead):", ""]
        lines += ["| AR2 limit | false / patient-week | AR2 | system |", "|---|---|---|---|"]
        for m in s["matched"]:
            lines.append(
                f"| < {m['ar2_limit']} | {m['false_alerts_per_patient_week']} | "
                f"{_pct(m['ar2_warned_15_min'])} | {_pct(m['system_warned_15_min'])} |"
            )
        lines += ["", "| reactive | alerted by episode end | by 15 min after onset | median delay |"]
        lines += ["|---|---|---|---|"]
        for label, key in (
            ("any glucose alert", "any_glucose_alert"),
            ("glucose.low alone", "glucose_low_alone"),
        ):
            r = s["reactive"][key]
            lines.append(
                f"| {label} | {_pct(r['alerted_by_end'])} | {_pct(r['alerted_by_15_min'])} | "
                f"{r['median_delay_min']} min |"
            )
        lines += ["", f"Episodes not alerted by 15 minutes after onset: {len(s['misses'])}", ""]
        lines += [f"- {m['person']} at {m['onset']} (nadir {m['nadir']:g}): {m['why']}" for m in s["misses"]]
        lines.append("")
    if "realism" in report:
        lines += ["## The simulator beside the real traces", "", realism_markdown(report["realism"]), ""]
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = report["groups"]
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4.5), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], groups, strict=True):
        curves = report[name]["curves"]
        for label, key, style in (("system (risk model)", "system", "o-"), ("Nightscout AR2", "ar2", "s--")):
            pts = [p for p in curves[key] if p["warned_15_min"] is not None]
            ax.plot(
                [p["false_alerts_per_patient_week"] for p in pts],
                [100 * p["warned_15_min"] for p in pts],
                style,
                label=label,
            )
        ax.axvline(1.0, color="grey", lw=0.8, ls=":")
        ax.axhline(60, color="grey", lw=0.8, ls=":")
        ax.set_title(f"{name.replace('_', '-')} people ({report[name]['predictable_episodes']} episodes)")
        ax.set_xlabel("false predictive alerts per patient-week")
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("hypoglycaemias warned >= 15 min ahead (%)")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_cgm(directory: Path, out: Path, *, plots: bool = True, simglucose: bool = False) -> str:
    """Real traces (``cgm.*``) or simglucose runs (``simglucose.*``), written to ``out``."""
    report = evaluate_simglucose(directory) if simglucose else evaluate_cgm(directory)
    name = "simglucose" if simglucose else "cgm"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (out / f"{name}.md").write_text(text)
    if plots:
        plot(report, out / f"{name}.png")
    return text
