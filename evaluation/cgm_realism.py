"""Does the simulator's CGM look like real CGM? The same statistics of both, side by side.

Per source (each real study, and the simulator's type 1 patients, who wear CGMs):
sensor noise (the median absolute second difference of consecutive 5-minute
readings: what is left once the level and the trend are taken out), gaps,
readings at the reporting limits, how fast glucose changes, and how often and
how long people are low (episodes as ``cgm_data`` derives them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from devices.contract import Metric
from evaluation.cgm_data import MAX_STEP, Trace, episodes
from simulators.cohort import build_cohort
from simulators.engine import Send, stream

STEP = timedelta(minutes=5)


def _steps(trace: Trace) -> list[tuple[float, float]]:
    """(minutes, change) between consecutive readings 4-6 minutes apart."""
    out = []
    for i in range(1, len(trace.times)):
        minutes = (trace.times[i] - trace.times[i - 1]).total_seconds() / 60
        if 4 <= minutes <= 6:
            out.append((minutes, trace.values[i] - trace.values[i - 1]))
    return out


def statistics(traces: Sequence[Trace]) -> dict[str, Any]:
    second, rates, gaps, limits, readings = [], [], 0, 0, 0
    days = sum(t.covered().total_seconds() for t in traces) / 86400
    for trace in traces:
        v, t = trace.values, trace.times
        readings += len(v)
        limits += sum(x <= 40 or x >= 399 for x in v)
        gaps += sum(after - before > MAX_STEP for before, after in zip(t, t[1:], strict=False))
        rates += [abs(change) / minutes for minutes, change in _steps(trace)]
        second += [
            abs(v[i] - 2 * v[i - 1] + v[i - 2])
            for i in range(2, len(v))
            if t[i] - t[i - 2] <= 2 * STEP + timedelta(minutes=2)
        ]
    found = [e for trace in traces for e in episodes(trace)]
    weeks = days / 7
    rates.sort()
    return {
        "people": len(traces),
        "days": round(days, 1),
        "noise_mg_dl": round(median(second), 2) if second else None,
        "gaps_per_day": round(gaps / days, 2) if days else None,
        "at_limits_percent": round(100 * limits / readings, 3) if readings else None,
        "rate_over_2_percent": round(100 * sum(r > 2 for r in rates) / len(rates), 2) if rates else None,
        "rate_over_3_percent": round(100 * sum(r > 3 for r in rates) / len(rates), 3) if rates else None,
        "rate_p99": round(rates[int(0.99 * (len(rates) - 1))], 2) if rates else None,
        "hypos_per_week": round(len(found) / weeks, 2) if weeks else None,
        "hypo_minutes_median": (
            round(median((e.end - e.onset).total_seconds() / 60 for e in found), 1) if found else None
        ),
        "hypo_level2_percent": round(100 * sum(e.level2 for e in found) / len(found), 1) if found else None,
    }


def simulated_traces(condition: str, *, patients: int, days: float, seed: int) -> list[Trace]:
    """The CGM readings the simulator sends for patients with ``condition``."""
    start = datetime(2026, 3, 2, tzinfo=UTC)
    cohort = build_cohort(
        size=patients, start=start, days=days, seed=seed, conditions=[(condition,)] * patients
    )
    points: dict[str, list[tuple[datetime, float]]] = {}
    for item in stream(cohort):
        if not isinstance(item, Send) or item.duplicate:
            continue
        for reading in item.readings:
            if reading.metric == Metric.GLUCOSE_CGM and reading.value is not None:
                value = reading.value * (18.016 if reading.unit == "mmol/L" else 1.0)
                points.setdefault(item.serial, []).append((reading.at, value))
    traces = []
    for serial, rows in points.items():
        rows = sorted(dict(rows).items())
        traces.append(Trace(f"sim:{serial}", tuple(t for t, _ in rows), tuple(v for _, v in rows)))
    return traces


def compare(real: Sequence[Trace], *, patients: int = 12, days: float = 14, seed: int = 5) -> dict[str, Any]:
    by_study: dict[str, list[Trace]] = {}
    for trace in real:
        by_study.setdefault(trace.study, []).append(trace)
    table = {f"real: {study}": statistics(traces) for study, traces in sorted(by_study.items())}
    # Only type 1 patients wear a CGM in the simulator.
    sim = simulated_traces("type1_diabetes", patients=patients, days=days, seed=seed)
    table["simulator: type 1 diabetes"] = statistics(sim)
    return table


COLUMNS = (
    ("noise_mg_dl", "noise (mg/dL)"),
    ("gaps_per_day", "gaps > 15 min / day"),
    ("at_limits_percent", "at limits (%)"),
    ("rate_over_2_percent", "|rate| > 2 mg/dL/min (%)"),
    ("rate_over_3_percent", "|rate| > 3 (%)"),
    ("rate_p99", "|rate| p99"),
    ("hypos_per_week", "hypos / week"),
    ("hypo_minutes_median", "hypo median min"),
    ("hypo_level2_percent", "level 2 (%)"),
)


def markdown(table: dict[str, Any]) -> str:
    head = "| source | people | days | " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for source, row in table.items():
        cells = " | ".join("-" if row[key] is None else f"{row[key]:g}" for key, _ in COLUMNS)
        lines.append(f"| {source} | {row['people']} | {row['days']:g} | {cells} |")
    return "\n".join(lines)
