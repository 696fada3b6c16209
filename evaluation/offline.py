"""Runs a simulated cohort through the service's own code, offline: no broker, no database.

Each simulated message is encoded in the wire format and goes through the same
decode -> attribute/standardise -> detect path as live ingestion; the data-gap
heartbeat runs every few simulated minutes. What comes out is every alert the
care team would have seen, with when it opened.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from devices.contract import ReadingsMessage, encode, readings_topic
from monitoring.catalogue import Series
from monitoring.detection.detectors.gaps import ActiveGap, DataGaps, DeviceSeen
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import Finding, FindingKind
from monitoring.ingest.intake import attribute, decode
from monitoring.ingest.records import Inbound
from monitoring.readings.records import StandardReading
from monitoring.registry.careplans import CarePlan
from monitoring.registry.records import DeviceRef
from simulators.cohort import Cohort
from simulators.engine import Presence, Send, stream

TOPIC_ROOT = "eval"
SLOT_S = 300


def metric_of(series: Series) -> str:
    """The wire metric a stored series came from (labels speak in metrics)."""
    return "blood_pressure" if series in (Series.BP_SYSTOLIC, Series.BP_DIASTOLIC) else series.key


@dataclass(slots=True)
class AlertRecord:
    patient: str
    alert_type: str
    severity: str
    opened_at: datetime
    episode_started_at: datetime
    series: str | None
    summary: str
    cleared_at: datetime | None = None  # when its episode ended (None: still open at the end)

    def active_at(self, at: datetime) -> bool:
        return self.opened_at <= at and (self.cleared_at is None or self.cleared_at >= at)

    @property
    def device_problem(self) -> bool:
        return self.alert_type.startswith("device.")


@dataclass(slots=True)
class RunResult:
    alerts: list[AlertRecord] = field(default_factory=list)
    # (patient, metric) -> 5-minute slots (since cohort start) in which it was measured
    observed_slots: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    traces: dict[tuple[str, str], list[tuple[datetime, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    readings: int = 0
    messages: int = 0
    seconds: float = 0.0
    gated: dict[str, int] = field(default_factory=dict)
    out_of_order: int = 0


PlanFor = Callable[[tuple[str, ...]], CarePlan]


@dataclass(slots=True)
class System:
    """One detector configuration under test, and the alerts it raised."""

    engine: DetectionEngine
    plan_for: PlanFor
    gaps: DataGaps | None = None
    result: RunResult = field(default_factory=RunResult)
    active: dict[tuple[UUID, str], datetime] = field(default_factory=dict)
    open_records: dict[tuple[UUID, str], AlertRecord] = field(default_factory=dict)
    active_gaps: dict[tuple[UUID, str], ActiveGap] = field(default_factory=dict)


class OfflineRun:
    """Plays a cohort once and feeds every system under test the same readings."""

    def __init__(
        self,
        cohort: Cohort,
        systems: dict[str, System],
        *,
        heartbeat: timedelta = timedelta(minutes=5),
        trace: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.cohort = cohort
        self.systems = systems
        self.heartbeat = heartbeat
        self.trace = set(trace)
        self.devices: dict[str, DeviceRef] = {}
        self.kinds: dict[str, DeviceSeen] = {}
        self.mrn_of: dict[UUID, str] = {}
        for patient in cohort.patients:
            pid = uuid5(NAMESPACE_URL, f"patient/{patient.mrn}")
            self.mrn_of[pid] = patient.mrn
            for system in systems.values():
                system.engine.set_care_plan(pid, system.plan_for(patient.profile.conditions))
            for device in patient.devices:
                did = uuid5(NAMESPACE_URL, f"device/{device.serial}")
                self.devices[device.serial] = DeviceRef(did, device.serial, pid, "active")
                self.kinds[device.serial] = DeviceSeen(did, pid, device.serial, device.kind, None)
        self._seq: dict[str, int] = defaultdict(int)
        self._offline: dict[str, list[Send]] = {}
        self.result = RunResult()  # what every system saw: readings, observed hours, traces

    def run(self) -> dict[str, RunResult]:
        started = time.perf_counter()
        next_beat = self.cohort.start + self.heartbeat
        for item in stream(self.cohort):
            while item.at >= next_beat:
                self._beat(next_beat)
                next_beat += self.heartbeat
            if isinstance(item, Presence):
                if not item.online:
                    self._offline.setdefault(item.serial, [])
                else:
                    for held in self._offline.pop(item.serial, []):
                        self._deliver(held, item.at)
            elif item.serial in self._offline:
                self._offline[item.serial].append(item)
            else:
                self._deliver(item, item.at)
        self._beat(next_beat)
        shared = self.result
        for system in self.systems.values():
            result = system.result
            result.observed_slots, result.traces = shared.observed_slots, shared.traces
            result.readings, result.messages = shared.readings, shared.messages
            result.seconds = time.perf_counter() - started
            result.gated = dict(system.engine.gate.stats.gated)
            result.out_of_order = system.engine.out_of_order
        return {name: system.result for name, system in self.systems.items()}

    def _deliver(self, send: Send, at: datetime) -> None:
        seq = self._seq[send.serial] - (1 if send.duplicate else 0)
        self._seq[send.serial] = seq + 1
        message = ReadingsMessage(device_id=send.serial, seq=seq, sent_at=at, readings=list(send.readings))
        inbound = Inbound(readings_topic(send.serial, TOPIC_ROOT), encode(message), at)
        intake = attribute([decode(inbound, TOPIC_ROOT)], self.devices)
        self.result.messages += 1
        self.result.readings += len(intake.readings)
        seen = self.kinds[send.serial]
        self.kinds[send.serial] = DeviceSeen(seen.device_id, seen.patient_id, seen.serial, seen.kind, at)
        self._record(intake.readings)
        for system in self.systems.values():
            self._apply(system, system.engine.evaluate(intake.readings))

    def _record(self, readings: list[StandardReading]) -> None:
        start = self.cohort.start
        for reading in readings:
            mrn = self.mrn_of[reading.patient_id]
            metric = metric_of(reading.series)
            slot = int((reading.measured_at - start).total_seconds() // SLOT_S)
            self.result.observed_slots[(mrn, metric)].add(slot)
            if (mrn, reading.series.key) in self.trace:
                self.result.traces[(mrn, reading.series.key)].append((reading.measured_at, reading.value))

    def _beat(self, now: datetime) -> None:
        for system in self.systems.values():
            if system.gaps is None:
                continue
            findings = system.gaps.check(self.kinds.values(), now, system.active_gaps)
            for finding in findings:
                key = (finding.patient_id, finding.alert_type)
                if finding.kind is FindingKind.CLEAR:
                    system.active_gaps.pop(key, None)
                else:
                    tier = 2 if finding.severity.rank >= 3 else 1
                    system.active_gaps[key] = ActiveGap(tier, finding.episode_started_at)
            self._apply(system, findings)

    def _apply(self, system: System, findings: list[Finding]) -> None:
        """Alerts as the service merges them: one per (patient, type) and episode."""
        for finding in findings:
            key = (finding.patient_id, finding.alert_type)
            if finding.kind is FindingKind.CLEAR:
                system.active.pop(key, None)
                cleared = system.open_records.pop(key, None)
                if cleared is not None:
                    cleared.cleared_at = finding.at
                continue
            if finding.kind is not FindingKind.OPEN or system.active.get(key) == finding.episode_started_at:
                continue
            system.active[key] = finding.episode_started_at
            record = AlertRecord(
                patient=self.mrn_of[finding.patient_id],
                alert_type=finding.alert_type,
                severity=finding.severity.value,
                opened_at=finding.at,
                episode_started_at=finding.episode_started_at,
                series=finding.series.key if finding.series is not None else None,
                summary=finding.summary,
            )
            system.open_records[key] = record
            system.result.alerts.append(record)
