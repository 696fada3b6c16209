"""Real CGM traces through the service's detectors, causally, in one process; AR2 beside them.

Every person's readings go, in time order, through the same engine the
service runs (signal-quality gate, clinical rules, the risk model, personal
models). What comes out per person: every alert with when it opened and
cleared, the risk the model gave at each reading it saw (so that other
thresholds can be replayed without running the engine again), and which
readings the quality gate kept from the detectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from evaluation.cgm_data import Trace
from evaluation.cgm_scoring import Interval
from evaluation.evaluate import service_plan
from monitoring.catalogue import Series
from monitoring.detection.detectors.hypo_features import LOW, Features, ar2_30
from monitoring.detection.detectors.hypo_risk import HypoRisk, RiskAlarm, RiskRules
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import FindingKind, Observation
from monitoring.detection.lineup import default_detectors

DEVICE = uuid5(NAMESPACE_URL, "cgm-replay/device")
STUDY_CONDITIONS = {
    "Dubosson2018": ("type1_diabetes",),
    "Hall2018": ("type2_diabetes",),
    "simglucose": ("type1_diabetes",),  # the UVA/Padova type 1 model
}


@dataclass(frozen=True, slots=True)
class RiskPoint:
    at: datetime
    value: float
    risk: float
    urgent: bool  # the urgent-low-soon rule held and could open an alert for this patient
    slope_10: float


@dataclass(slots=True)
class PersonRun:
    trace: Trace
    alerts: dict[str, list[Interval]] = field(default_factory=dict)
    risks: list[RiskPoint] = field(default_factory=list)

    def opened(self, alert_type: str) -> list[datetime]:
        return [a.opened for a in self.alerts.get(alert_type, [])]

    def glucose_alerts(self) -> list[Interval]:
        return [a for kind, found in self.alerts.items() if kind.startswith("glucose.") for a in found]


class Tap:
    """Receives what the risk detector computed at each reading it saw."""

    def __init__(self) -> None:
        self.points: dict[UUID, list[RiskPoint]] = {}

    def __call__(self, patient_id: UUID, features: Features, risk: float, urgent: bool) -> None:
        point = RiskPoint(features.at, features.value, risk, urgent, features.named()["slope_10"])
        self.points.setdefault(patient_id, []).append(point)


def replay(traces: Iterable[Trace]) -> Iterator[PersonRun]:
    """Each person through one shared engine (as one ingestion worker holds many patients)."""
    tap = Tap()
    detectors = default_detectors()
    for detector in detectors:
        if isinstance(detector, HypoRisk):
            detector.tap = tap
    engine = DetectionEngine(detectors)
    for trace in traces:
        patient = uuid5(NAMESPACE_URL, f"cgm-replay/{trace.person}")
        engine.set_care_plan(patient, service_plan(STUDY_CONDITIONS.get(trace.study, ())))
        run = PersonRun(trace)
        open_since: dict[str, datetime] = {}
        for at, value in zip(trace.times, trace.values, strict=True):
            for found in engine.observe(Observation(patient, Series.GLUCOSE_CGM, at, value, DEVICE)):
                if found.kind is FindingKind.OPEN:
                    open_since.setdefault(found.alert_type, found.at)
                elif found.kind is FindingKind.CLEAR and found.alert_type in open_since:
                    opened = open_since.pop(found.alert_type)
                    run.alerts.setdefault(found.alert_type, []).append(Interval(opened, found.at))
        for kind, opened in open_since.items():
            run.alerts.setdefault(kind, []).append(Interval(opened))
        run.risks = tap.points.pop(patient, [])
        engine.forget(patient)
        yield run


def risk_alerts(run: PersonRun, rules: RiskRules) -> list[datetime]:
    """When the risk alert would have opened with other rules, on the same risks."""
    alarm, opened = RiskAlarm(rules), []
    for p in run.risks:
        if alarm.step(p.at, p.value, p.risk, p.urgent) == "open":
            opened.append(p.at)
    return opened


def urgent_alerts(run: PersonRun) -> list[datetime]:
    """Dexcom-style "urgent low soon" on its own, for everyone: opens when it starts to hold, above 70."""
    rules = RiskRules()
    minutes = rules.urgent_within.total_seconds() / 60
    opened, active = [], False
    for p in run.risks:
        urgent = p.value + minutes * p.slope_10 <= rules.urgent_level
        if urgent and not active and p.value >= LOW:
            opened.append(p.at)
        active = urgent
    return opened


def ar2_alerts(trace: Trace, limit: float) -> list[datetime]:
    """Nightscout's AR2: warn when the 30-minute forecast from the last two readings is below ``limit``.

    Two readings 4-6 minutes apart are needed. The warning opens while glucose is
    still at or above 70 and lasts until the forecast is back at or above the limit.
    """
    opened, active = [], False
    times, values = trace.times, trace.values
    for i in range(1, len(times)):
        if not timedelta(minutes=4) <= times[i] - times[i - 1] <= timedelta(minutes=6):
            continue
        forecast = ar2_30(values[i - 1], values[i])
        if active and forecast >= limit:
            active = False
        elif not active and forecast < limit and values[i] >= LOW:
            active = True
            opened.append(times[i])
    return opened
