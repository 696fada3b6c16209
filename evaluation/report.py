"""The evaluation for people: a markdown report and a few PNG plots of patients with events and alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluation.offline import OfflineRun
from evaluation.scoring import Label


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def markdown(report: dict[str, Any], plots: list[str]) -> str:
    ours, naive = report["system"], report["naive"]
    lines = [
        f"# Detector evaluation (seed {report['seed']})",
        "",
        f"{ours['patients']} simulated patients x {ours['days']:g} days "
        f"({ours['patient_days']:g} patient-days), "
        f"{ours['readings']:,} readings; labels: {report['labels']}.",
        "",
        "| | system | naive baseline |",
        "|---|---|---|",
        f"| recall (clinically significant events) | {_cell(ours['recall'])} | {_cell(naive['recall'])} |",
        f"| recall (every observable event) | {_cell(ours['recall_observable'])} | "
        f"{_cell(naive['recall_observable'])} |",
        f"| false alerts | {ours['false_alerts']} | {naive['false_alerts']} |",
        f"| false alerts per patient-day | {_cell(ours['false_alerts_per_patient_day'])} | "
        f"{_cell(naive['false_alerts_per_patient_day'])} |",
        f"| median delay of acute events after the first abnormal reading (min) | "
        f"{_cell(ours['acute_delay_from_evidence_min_median'])} | "
        f"{_cell(naive['acute_delay_from_evidence_min_median'])} |",
        f"| device-problem alerts (matched to a fault / not) | {ours['device_alerts']['matched']} / "
        f"{ours['device_alerts']['unmatched']} | - |",
        "",
        f"False alerts: {report['comparison']['false_alert_reduction']}x fewer than the naive baseline.",
        "",
        "## By event type (system)",
        "",
        "Recall is over clinically significant events (the measured data meet the event's "
        "clinical definition); see `monitoring/evaluation/scoring.py`. Censored: events whose "
        "peak is more than a day after the run ends (their flag-24-h-before-peak deadline is not "
        "reached), in neither system's recall.",
        "",
        "| event | events | censored | observable | significant | detected | recall "
        "| delay median / p90 (min) | after first abnormal reading (min) | lead before peak (h) "
        "| naive recall |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in ours["by_event_type"].items():
        other = naive["by_event_type"].get(name, {})
        lines.append(
            f"| {name} | {row['events']} | {row['censored']} | {row['observable']} | "
            f"{row['significant']} | {row['detected']} | "
            f"{_cell(row['recall'])} | "
            f"{_cell(row['delay_min_median'])} / {_cell(row['delay_min_p90'])} | "
            f"{_cell(row['delay_from_evidence_min_median'])} | "
            f"{_cell(row.get('lead_before_peak_h_median'))} | "
            f"{_cell(other.get('recall'))} |"
        )
    lines += ["", "## Missed clinically significant events", ""]
    for who, run in (("system", ours), ("naive baseline", naive)):
        missed = run.get("missed", [])
        lines += [
            f"{who}: "
            + ("; ".join(f"{m['type']} {m['patient']} from {m['start']}" for m in missed) or "none")
        ]
        lines += [""]
    lines += ["## False alerts (system)", "", "| cause | alerts |", "|---|---|"]
    lines += [f"| {cause} | {count} |" for cause, count in ours["false_alerts_by_cause"].items()]
    lines += ["", "| alert type | false alerts |", "|---|---|"]
    lines += [f"| {kind} | {count} |" for kind, count in ours["false_alerts_by_type"].items()]
    lines += ["", f"Readings held back by the signal-quality gate: {ours['gated']}.", ""]
    if plots:
        lines += ["## Patients", ""] + [f"![{name}]({name})" for name in plots]
    return "\n".join(lines) + "\n"


def plot_examples(run: OfflineRun, labels: list[Label], out_dir: Path, limit: int = 4) -> list[str]:
    """One PNG per example event: the traced series, the event shaded, alerts as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alerts = run.systems["system"].result.alerts
    written: list[str] = []
    seen_types: set[str] = set()
    for label in labels:
        if label.kind != "event" or label.type in seen_types or len(written) >= limit:
            continue
        traces = [(key[1], points) for key, points in run.result.traces.items() if key[0] == label.patient]
        margin = (label.end - label.start) * 0.5 + (label.end - label.start).__class__(hours=2)
        window = [
            (series, [(at, v) for at, v in points if label.start - margin <= at <= label.end + margin])
            for series, points in traces
        ]
        window = [(series, points) for series, points in window if points]
        if not window:
            continue
        seen_types.add(label.type)
        figure, axes = plt.subplots(
            len(window), 1, figsize=(10, 2.6 * len(window)), sharex=True, squeeze=False
        )
        for axis, (series, points) in zip(axes[:, 0], window, strict=True):
            axis.plot([at for at, _ in points], [v for _, v in points], lw=0.8, color="#1f4e79")
            axis.axvspan(label.start, label.end, color="#f4b183", alpha=0.35, label=f"{label.type} (label)")
            for alert in alerts:
                if (
                    alert.patient == label.patient
                    and label.start - margin <= alert.opened_at <= label.end + margin
                ):
                    axis.axvline(alert.opened_at, color="#c00000", lw=1)
                    axis.annotate(
                        alert.alert_type,
                        (alert.opened_at, axis.get_ylim()[1]),
                        fontsize=7,
                        rotation=90,
                        va="top",
                        ha="right",
                        color="#c00000",
                    )
            axis.set_ylabel(series)
            axis.legend(loc="lower left", fontsize=7)
        axes[0, 0].set_title(f"{label.patient}: {label.type}; red lines are alerts as they opened")
        figure.autofmt_xdate()
        name = f"{label.type}-{label.patient}.png"
        figure.savefig(out_dir / name, dpi=90, bbox_inches="tight")
        plt.close(figure)
        written.append(name)
    return written
