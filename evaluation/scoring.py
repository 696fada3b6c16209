"""Matching alerts to ground truth: recall, detection delay and false alerts per patient-day.

Recall is counted over clinically significant events: those whose clinical
definition is met by what was measured (a hypoglycaemia the CGM showed below
70 mg/dL for 15 minutes, or a meter reading below 70; an extended
hyperglycaemia of 90 minutes above 250 within two hours, or a meter reading
above 250; a hypertensive crisis with a reading above 180/120; a bradycardia
under 40 /min; a fast AF over 110 /min). A simulated dip that the data never show as a low cannot be
detected by any system. Recall over every observable event is reported too.

An alert detects a labelled event when it is for the same patient, opened
between the event's start and its end plus a grace period, and is about one of
the event's metrics. For acute events it may also open up to 30 minutes before
the labelled start (a forecast low is meant to), or be still open when the
event begins (alerts of one type merge, so a new event within an open episode
raises no second alert). A clinical alert that detects nothing is false; it is
counted under the non-event (exercise, meal, artefact) or device fault it
coincides with, or as unexplained. Device-problem alerts are matched to device
faults and reported on their own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from evaluation.offline import SLOT_S, AlertRecord, RunResult

# What each alert is about, as wire metrics (labels name metrics).
_VITALS = {"heart_rate", "spo2", "respiratory_rate", "blood_pressure", "body_temperature"}
ALERT_METRICS: tuple[tuple[str, frozenset[str]], ...] = (
    ("threshold.bp_", frozenset({"blood_pressure"})),
    ("threshold.", frozenset()),  # the series is in the name
    ("glucose.", frozenset({"glucose_cgm", "glucose_meter"})),
    ("bp.", frozenset({"blood_pressure"})),
    ("hf.", frozenset({"body_weight"})),
    ("news2", frozenset(_VITALS)),
    ("arrhythmia.", frozenset({"heart_rate"})),
    ("personal.spo2", frozenset({"spo2"})),
    ("personal.febrile", frozenset({"skin_temperature", "heart_rate", "body_temperature"})),
    (
        "personal.deterioration",
        frozenset({"heart_rate", "respiratory_rate", "spo2", "body_weight", "skin_temperature"}),
    ),
)
ACUTE = (
    "hypoglycaemia_l1",
    "hypoglycaemia_l2",
    "hypertensive_crisis",
    "af_rapid_ventricular_response",
    "bradycardia",
)
# When the event first shows in the data: (series, crossing test) per acute event type.
EVIDENCE: dict[str, tuple[tuple[str, Any], ...]] = {
    "hypoglycaemia_l1": (("glucose_cgm", lambda v: v < 70), ("glucose_meter", lambda v: v < 70)),
    "hypoglycaemia_l2": (("glucose_cgm", lambda v: v < 70), ("glucose_meter", lambda v: v < 70)),
    "hypertensive_crisis": (("bp_systolic", lambda v: v > 180), ("bp_diastolic", lambda v: v > 120)),
    "af_rapid_ventricular_response": (("heart_rate", lambda v: v > 110),),
    "bradycardia": (("heart_rate", lambda v: v < 40),),
}
LOW, VERY_HIGH = 70.0, 250.0
CONSENSUS_LOW = timedelta(minutes=15)
CONSENSUS_HIGH, HIGH_WINDOW = timedelta(minutes=90), timedelta(minutes=120)
SIGNIFICANCE_SERIES = {
    "hypoglycaemia_l1": ("glucose_cgm", "glucose_meter"),
    "hypoglycaemia_l2": ("glucose_cgm", "glucose_meter"),
    "hyperglycaemia": ("glucose_cgm", "glucose_meter"),
}
DEVICE_FAULTS = ("dropout", "battery_death", "stuck_sensor")
GRACE = timedelta(hours=1)
LONG_GRACE = {"hf_decompensation": timedelta(days=1), "copd_exacerbation": timedelta(hours=12)}
# Acute events may be alerted a little before their labelled start: a forecast low is meant to
# come first (30 minutes is its horizon), and the data can cross the limit before the simulator's
# label begins. Such an alert is that event's, not a false one; its delay is then negative.
LEAD = timedelta(minutes=30)
LEAD_TYPES = (*ACUTE, "hyperglycaemia")
# An event with a labelled peak (heart-failure decompensation) is judged by whether it was flagged
# this long before the peak. When the run ends before that deadline the outcome is unknown (right
# censored): the event is counted as censored, in neither system's recall.
PEAK_LEAD = timedelta(hours=24)


def alert_metrics(alert: AlertRecord) -> frozenset[str]:
    for prefix, metrics in ALERT_METRICS:
        if alert.alert_type.startswith(prefix):
            if metrics or alert.series is None:
                return metrics
            return frozenset({alert.series})
    return frozenset()


@dataclass(frozen=True, slots=True)
class Label:
    patient: str
    type: str
    kind: str
    start: datetime
    end: datetime
    metrics: frozenset[str]
    peak: datetime | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Label:
        peak = row.get("peak")
        return cls(
            row["patient"],
            row["type"],
            row["kind"],
            datetime.fromisoformat(row["start"]),
            datetime.fromisoformat(row["end"]),
            frozenset(row.get("metrics", ())),
            datetime.fromisoformat(peak) if peak else None,
        )

    def covers(self, at: datetime, grace: timedelta, lead: timedelta = timedelta(0)) -> bool:
        return self.start - lead <= at <= self.end + grace


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _observable(label: Label, result: RunResult, cohort_start: datetime) -> bool:
    """Whether the patient measured any of the event's metrics while it lasted."""
    first = int((label.start - cohort_start).total_seconds() // SLOT_S)
    last = int((label.end - cohort_start).total_seconds() // SLOT_S)
    for metric in label.metrics:
        slots = result.observed_slots.get((label.patient, metric), set())
        if any(s in slots for s in range(first, last + 1)):
            return True
    return False


Trace = list[tuple[datetime, float]]


def _low_run(cgm: Trace) -> bool:
    """Whether consecutive CGM readings stayed below 70 for at least 15 minutes."""
    since: datetime | None = None
    for at, value in cgm:
        if value >= LOW:
            since = None
            continue
        since = since or at
        if at - since >= CONSENSUS_LOW:
            return True
    return False


def _extended_high(cgm: Trace) -> bool:
    """Whether CGM readings were above 250 for 90 cumulative minutes within some 120 minutes."""
    for i, (start, _) in enumerate(cgm):
        above = timedelta(0)
        for (at, value), (after, _) in zip(cgm[i:], cgm[i + 1 :], strict=False):
            if after - start > HIGH_WINDOW:
                break
            if value > VERY_HIGH:
                above += min(after - at, timedelta(minutes=20))
        if above >= CONSENSUS_HIGH:
            return True
    return False


def _significant(label: Label, result: RunResult) -> bool:
    """Whether the measured data meet the event's clinical definition (types without one: yes).

    Glucose events by the consensus definitions below; the other acute events by
    their defining crossing (EVIDENCE): a "crisis" whose readings stayed under
    180/120 is not a hypertensive crisis, a "bradycardia" that never went under 40.
    """
    if label.type not in SIGNIFICANCE_SERIES:
        return label.type not in EVIDENCE or _evidence(label, result) is not None

    def during(series: str) -> Trace:
        trace = result.traces.get((label.patient, series), ())
        return [(at, v) for at, v in trace if label.start <= at <= label.end]

    cgm, meter = during("glucose_cgm"), during("glucose_meter")
    if label.type == "hyperglycaemia":
        return _extended_high(cgm) or any(v > VERY_HIGH for _, v in meter)
    return _low_run(cgm) or any(v < LOW for _, v in meter)


def _evidence(label: Label, result: RunResult) -> datetime | None:
    found: list[datetime] = []
    for series, test in EVIDENCE.get(label.type, ()):
        for at, value in result.traces.get((label.patient, series), ()):
            if label.start <= at <= label.end and test(value):
                found.append(at)
                break
    return min(found) if found else None


def _new_row() -> dict[str, Any]:
    return {
        "events": 0,
        "observable": 0,
        "significant": 0,
        "detected_observable": 0,
        "detected": 0,
        "delays": [],
        "evidence": [],
        "lead_h": [],
        "censored": 0,
    }


@dataclass
class _Matching:
    per_type: dict[str, dict[str, Any]] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)  # ids of alerts that detected an event
    missed: list[dict[str, str]] = field(default_factory=list)  # significant events no alert matched


def _match_events(
    events: list[Label],
    by_patient: dict[str, list[AlertRecord]],
    result: RunResult,
    start: datetime,
    run_end: datetime,
) -> _Matching:
    """Which alerts detected which labelled events, with delays and leads per event type."""
    found = _Matching()
    for event in events:
        grace = LONG_GRACE.get(event.type, GRACE)
        acute = event.type in LEAD_TYPES
        lead = LEAD if acute else timedelta(0)
        # Raised during the event (or just before an acute one), or, for an acute event, already
        # open when it began: alerts of one type merge, so an episode that runs on into a new
        # event is that event's alert too.
        matches = [
            a
            for a in by_patient[event.patient]
            if not a.device_problem
            and (event.covers(a.opened_at, grace, lead) or (acute and a.active_at(event.start)))
            and alert_metrics(a) & event.metrics
        ]
        found.used.update(id(a) for a in matches)
        row = found.per_type.setdefault(event.type, _new_row())
        row["events"] += 1
        if event.peak is not None and event.peak - PEAK_LEAD > run_end:
            row["censored"] += 1
            continue
        seen = _observable(event, result, start)
        meets = seen and _significant(event, result)
        row["observable"] += seen
        row["significant"] += meets
        row["detected_observable"] += bool(matches) and seen
        if meets and not matches:
            found.missed.append(
                {
                    "patient": event.patient,
                    "type": event.type,
                    "start": event.start.isoformat(),
                    "end": event.end.isoformat(),
                }
            )
        if not matches or not meets:
            continue
        row["detected"] += 1
        first = max(min(a.opened_at for a in matches), event.start - lead)
        row["delays"].append((first - event.start).total_seconds() / 60)
        evidence = _evidence(event, result)
        if evidence is not None:
            row["evidence"].append(max(0.0, (first - evidence).total_seconds() / 60))
        if event.peak is not None:
            row["lead_h"].append((event.peak - first).total_seconds() / 3600)
    return found


@dataclass
class _FalseAlerts:
    by_cause: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    device: dict[str, int] = field(default_factory=lambda: {"matched": 0, "unmatched": 0})


def _false_alerts(
    alerts: list[AlertRecord], used: set[int], non_events: list[Label], faults: list[Label]
) -> _FalseAlerts:
    """Alerts that detected no event, by what caused them (a labelled non-event, a fault, nothing)."""
    found = _FalseAlerts()
    for alert in alerts:
        if alert.device_problem:
            hit = any(
                f.patient == alert.patient and f.type in DEVICE_FAULTS and f.covers(alert.opened_at, GRACE)
                for f in faults
            )
            found.device["matched" if hit else "unmatched"] += 1
            continue
        if id(alert) in used:
            continue
        metrics = alert_metrics(alert)
        cause = next(
            (
                n.type
                for n in non_events
                if n.patient == alert.patient and n.covers(alert.opened_at, GRACE) and n.metrics & metrics
            ),
            None,
        )
        if cause is None:
            cause = next(
                (
                    f"fault:{f.type}"
                    for f in faults
                    if f.patient == alert.patient and f.covers(alert.opened_at, GRACE)
                ),
                "unexplained",
            )
        found.by_cause[cause] += 1
        found.by_type[alert.alert_type] += 1
    return found


def _by_type(per_type: dict[str, dict[str, Any]]) -> dict[str, Any]:
    types: dict[str, Any] = {}
    for name, row in sorted(per_type.items()):
        types[name] = {
            "events": row["events"],
            "censored": row["censored"],
            "observable": row["observable"],
            "significant": row["significant"],
            "detected": row["detected"],
            "recall": round(row["detected"] / row["significant"], 3) if row["significant"] else None,
            "recall_observable": (
                round(row["detected_observable"] / row["observable"], 3) if row["observable"] else None
            ),
            "delay_min_median": _pct(row["delays"], 0.5),
            "delay_min_p90": _pct(row["delays"], 0.9),
            "delay_from_evidence_min_median": _pct(row["evidence"], 0.5),
            "delay_from_evidence_min_p90": _pct(row["evidence"], 0.9),
            **({"lead_before_peak_h_median": _pct(row["lead_h"], 0.5)} if row["lead_h"] else {}),
            **({"lead_before_peak_h_min": round(min(row["lead_h"]), 1)} if row["lead_h"] else {}),
            "acute": name in ACUTE,
        }
    return types


def score(
    labels: Iterable[dict[str, Any]], result: RunResult, *, patients: int, days: float, start: datetime
) -> dict[str, Any]:
    """Everything the report says about one run, as JSON-ready numbers."""
    all_labels = [Label.of(row) for row in labels]
    events = [lab for lab in all_labels if lab.kind == "event"]
    non_events = [lab for lab in all_labels if lab.kind == "non_event"]
    faults = [lab for lab in all_labels if lab.kind == "fault"]
    by_patient: dict[str, list[AlertRecord]] = defaultdict(list)
    for alert in result.alerts:
        by_patient[alert.patient].append(alert)
    matching = _match_events(events, by_patient, result, start, start + timedelta(days=days))
    false = _false_alerts(list(result.alerts), matching.used, non_events, faults)
    per_type = matching.per_type
    types = _by_type(per_type)
    patient_days = patients * days
    observable = sum(t["observable"] for t in types.values())
    significant = sum(t["significant"] for t in types.values())
    detected = sum(t["detected"] for t in types.values())
    detected_observable = sum(r["detected_observable"] for r in per_type.values())
    false_total = sum(false.by_cause.values())
    acute_delays = [d for n, r in per_type.items() if n in ACUTE for d in r["evidence"]]
    return {
        "patients": patients,
        "days": days,
        "patient_days": patient_days,
        "alerts": len(result.alerts),
        "events": len(events),
        "censored_events": sum(t["censored"] for t in types.values()),
        "observable_events": observable,
        "significant_events": significant,
        "recall": round(detected / significant, 3) if significant else None,
        "recall_observable": round(detected_observable / observable, 3) if observable else None,
        "acute_delay_from_evidence_min_median": _pct(acute_delays, 0.5),
        "false_alerts": false_total,
        "false_alerts_per_patient_day": round(false_total / patient_days, 4) if patient_days else None,
        "false_alerts_by_cause": dict(sorted(false.by_cause.items(), key=lambda kv: -kv[1])),
        "false_alerts_by_type": dict(sorted(false.by_type.items(), key=lambda kv: -kv[1])),
        "device_alerts": false.device,
        "by_event_type": types,
        "missed": matching.missed,
        "readings": result.readings,
        "gated": result.gated,
        "out_of_order": result.out_of_order,
        "seconds": round(result.seconds, 1),
    }
