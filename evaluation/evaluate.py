"""``monitoring evaluate``: the detectors against ground truth, next to a naive baseline.

One simulated cohort is played once; the service's detectors and a naive
baseline (fixed single-reading limits, no persistence, no signal-quality gate,
no personal model) see the same readings. Both are scored against the labels.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from evaluation.offline import OfflineRun, System
from evaluation.scoring import ACUTE, EVIDENCE, SIGNIFICANCE_SERIES, score
from monitoring.catalogue import Series
from monitoring.detection.detectors.gaps import DataGaps
from monitoring.detection.detectors.thresholds import ThresholdDetector
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.lineup import default_detectors
from monitoring.detection.quality import QualityRule, SignalGate
from monitoring.domain import Condition, Severity
from monitoring.registry.careplans import CarePlan, Threshold, default_thresholds
from simulators.cohort import build_cohort

_NAIVE_EXTRA = (
    Threshold(Series.BP_SYSTOLIC, 90, 180, Severity.HIGH, persist_readings=1),
    Threshold(Series.BP_DIASTOLIC, None, 120, Severity.HIGH, persist_readings=1),
    Threshold(Series.GLUCOSE_CGM, 70, 250, Severity.HIGH, persist_readings=1),
)


def service_plan(conditions: tuple[str, ...]) -> CarePlan:
    chosen = frozenset(Condition(c) for c in conditions)
    return CarePlan(chosen, tuple(default_thresholds(chosen).values()))


def naive_plan(conditions: tuple[str, ...]) -> CarePlan:
    """The same limits, alerting on any single reading beyond them and clearing on the next inside."""
    plan = service_plan(conditions)
    limits = {t.series: t for t in plan.thresholds}
    limits.update({t.series: t for t in _NAIVE_EXTRA})
    naive = tuple(
        replace(t, persist_readings=1, persist_seconds=None, high_persist_readings=None, hysteresis=0.0)
        for t in limits.values()
    )
    return CarePlan(plan.conditions, naive)


def systems() -> dict[str, System]:
    return {
        "system": System(DetectionEngine(default_detectors()), service_plan, DataGaps()),
        "naive": System(
            DetectionEngine(
                [ThresholdDetector()], gate=SignalGate(rules={}, default=QualityRule(min_sqi=0.0))
            ),
            naive_plan,
        ),
    }


def evaluate(*, patients: int, days: float, seed: int, start: datetime) -> tuple[dict[str, Any], OfflineRun]:
    cohort = build_cohort(size=patients, start=start, days=days, seed=seed)
    labels = list(cohort.labels())
    trace = {
        (row["patient"], series)
        for row in labels
        if row["type"] in ACUTE
        for series, _ in EVIDENCE[row["type"]]
    } | {(row["patient"], series) for row in labels for series in SIGNIFICANCE_SERIES.get(row["type"], ())}
    run = OfflineRun(cohort, systems(), trace=trace)
    results = run.run()
    scored = {
        name: score(labels, result, patients=patients, days=days, start=cohort.start)
        for name, result in results.items()
    }
    ours, naive = scored["system"], scored["naive"]
    ratio = round(naive["false_alerts"] / ours["false_alerts"], 1) if ours["false_alerts"] else float("inf")
    report = {
        "seed": seed,
        "start": cohort.start.isoformat(),
        "labels": cohort.counts(),
        "system": ours,
        "naive": naive,
        "comparison": {
            "false_alert_reduction": ratio,
            "recall_system": ours["recall"],
            "recall_naive": naive["recall"],
        },
    }
    return report, run


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
