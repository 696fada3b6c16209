"""The detection engine: routes each new reading, in time order, through the gate and every detector.

Per reading: the signal-quality gate first (artefacts and stuck sensors never
reach clinical rules; a stuck sensor raises a device alert), then every
detector in turn. Findings flag their series so that models do not learn
"usual" from what is being alerted on. All state is per patient and can be
snapshotted to JSON and restored, which is how it survives a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from contextvars import Token
from datetime import datetime, timedelta, tzinfo
from operator import attrgetter
from typing import Any
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.base import EVERYONE, Detector, LateAware, PatientContext, Scope
from monitoring.detection.baseline import Baseline
from monitoring.detection.explain import WRITING_ZONE
from monitoring.detection.findings import Finding, FindingKind, Observation
from monitoring.detection.quality import SignalGate, Verdict
from monitoring.detection.state import need_time
from monitoring.readings.records import StandardReading
from monitoring.registry.careplans import CarePlan

log = logging.getLogger(__name__)

STATE_VERSION = 1
LATE_AFTER = timedelta(minutes=15)  # default: evaluated this long after measurement is "late"


class DetectionEngine:
    """Holds per-patient context and detector state; evaluates batches of new readings."""

    def __init__(
        self,
        detectors: Sequence[Detector],
        *,
        gate: SignalGate | None = None,
        context_ttl_s: float = 30.0,
        late_after: timedelta = LATE_AFTER,
    ) -> None:
        self.detectors = tuple(detectors)
        self.late_after = late_after
        self.gate = gate if gate is not None else SignalGate()
        self.context_ttl_s = context_ttl_s
        # Per-patient maps are keyed by the UUID's integer (hashed in C; a UUID hashes in Python).
        self._contexts: dict[int, PatientContext] = {}
        self._loaded_at: dict[UUID, float] = {}
        self._last_at: dict[int, dict[Series, datetime]] = {}
        self._dirty: dict[int, UUID] = {}
        # Per series: the detectors that look at it, each with its scope (None: everyone).
        self._routes: dict[Series, tuple[tuple[Detector, Scope | None], ...]] = {}
        self.out_of_order = 0

    def stale_contexts(self, patient_ids: Iterable[UUID]) -> set[UUID]:
        """Patients whose care plan is not loaded, or was loaded too long ago."""
        now = time.monotonic()
        return {p for p in patient_ids if now - self._loaded_at.get(p, -1e18) > self.context_ttl_s}

    def context(self, patient_id: UUID) -> PatientContext:
        context = self._contexts.get(patient_id.int)
        if context is None:
            context = self._contexts[patient_id.int] = PatientContext(patient_id)
        return context

    def set_care_plan(self, patient_id: UUID, plan: CarePlan) -> None:
        """Install or refresh a patient's care plan, keeping what was learned about them."""
        context = self.context(patient_id)
        context.conditions = plan.conditions
        context.thresholds = {t.series: t for t in plan.thresholds}
        context.zone = plan.zone
        self._loaded_at[patient_id] = time.monotonic()

    def forget(self, patient_id: UUID) -> None:
        self._contexts.pop(patient_id.int, None)
        self._loaded_at.pop(patient_id, None)
        self._last_at.pop(patient_id.int, None)
        self.gate.forget(patient_id)
        for detector in self.detectors:
            detector.forget(patient_id)

    def evaluate(self, readings: Sequence[StandardReading]) -> list[Finding]:
        """Feed new readings to the detectors in measurement order; return their findings.

        A reading older than the newest one already evaluated for its patient and
        series does not move the online detectors (their windows are built from
        readings in order); it only goes through the rules that need nothing
        but the reading itself, and what it raises is marked late.
        """
        return self.evaluate_ordered(sorted(readings, key=attrgetter("measured_at")))

    def evaluate_ordered(self, readings: Sequence[StandardReading]) -> list[Finding]:
        """``evaluate`` for readings already in measurement order (a batch fed a step at a time)."""
        findings: list[Finding] = []
        late_after, zone = self.late_after, WRITING_ZONE.get()
        first: Token[tzinfo] | None = None  # set the zone only when the patient's differs (a batch)
        try:
            for reading in readings:
                obs = Observation.of(reading)
                context = self.context(obs.patient_id)
                if context.zone is not zone:
                    zone = context.zone
                    token = WRITING_ZONE.set(zone)
                    first = first or token
                found = self._observe(obs, context)
                if found:
                    delay = reading.received_at - reading.measured_at
                    if delay > late_after:
                        found = [finding.arrived_late(delay) for finding in found]
                    findings.extend(found)
        finally:
            if first is not None:
                WRITING_ZONE.reset(first)
        return findings

    def observe(self, obs: Observation) -> list[Finding]:
        """One reading through the gate and every detector (readings must come in time order).

        What they explain gives its times in the patient's zone.
        """
        context = self.context(obs.patient_id)
        token = WRITING_ZONE.set(context.zone)
        try:
            return self._observe(obs, context)
        finally:
            WRITING_ZONE.reset(token)

    def _observe(self, obs: Observation, context: PatientContext) -> list[Finding]:
        pid = obs.patient_id
        key = pid.int
        latest = self._last_at.get(key)
        if latest is None:
            latest = self._last_at[key] = {}
        last = latest.get(obs.series)
        if last is not None and obs.at <= last:
            self.out_of_order += 1
            return self._late(obs)
        latest[obs.series] = obs.at
        self._dirty[key] = pid
        verdict, findings = self.gate.assess(obs)
        if findings:
            self._flag(context, findings)
        if verdict is not Verdict.OK:
            return findings
        for held in self.gate.take_released():
            self._detect(held, context, findings)
        self._detect(obs, context, findings)
        return findings

    def _detect(self, obs: Observation, context: PatientContext, findings: list[Finding]) -> None:
        route = self._routes.get(obs.series)
        if route is None:
            route = self._routes[obs.series] = self._route(obs.series)
        for detector, scope in route:
            if scope is not None and not scope.applies(context):
                continue
            found = detector.observe(obs, context)
            if found:
                self._flag(context, found)
                findings.extend(found)

    def _route(self, series: Series) -> tuple[tuple[Detector, Scope | None], ...]:
        """The detectors that look at ``series``, in line-up order, with the scope they keep to."""
        chosen: list[tuple[Detector, Scope | None]] = []
        for detector in self.detectors:
            only: frozenset[Series] | None = getattr(detector, "series", None)
            if only is None or series in only:
                scope: Scope = getattr(detector, "scope", EVERYONE)
                chosen.append((detector, None if scope.everyone else scope))
        return tuple(chosen)

    def _late(self, obs: Observation) -> list[Finding]:
        if obs.at == self._last_at[obs.patient_id.int][obs.series] or not self.gate.plausible(obs):
            return []
        context = self.context(obs.patient_id)
        findings: list[Finding] = []
        for detector in self.detectors:
            if isinstance(detector, LateAware):
                findings.extend(detector.observe_late(obs, context))
        return findings

    @staticmethod
    def _flag(context: PatientContext, findings: Iterable[Finding]) -> None:
        for finding in findings:
            if finding.series is None:
                continue
            flags = context.flagged.setdefault(finding.series, set())
            if finding.kind is FindingKind.CLEAR:
                flags.discard(finding.alert_type)
            else:
                flags.add(finding.alert_type)

    # State: what a checkpoint holds, per patient.

    def patients(self) -> list[UUID]:
        return [context.patient_id for context in self._contexts.values()]

    def take_dirty(self) -> set[UUID]:
        """Patients whose state changed since the last call."""
        dirty, self._dirty = set(self._dirty.values()), {}
        return dirty

    def snapshot(self, patient_id: UUID) -> dict[str, Any]:
        context = self.context(patient_id)
        detectors = {d.name: d.snapshot(patient_id) for d in self.detectors}
        return {
            "version": STATE_VERSION,
            "last_at": {
                str(int(s)): at.isoformat() for s, at in self._last_at.get(patient_id.int, {}).items()
            },
            "baselines": {str(int(s)): b.dump() for s, b in context.baselines.items()},
            "flagged": {str(int(s)): sorted(f) for s, f in context.flagged.items() if f},
            "gate": self.gate.snapshot(patient_id),
            "detectors": {name: state for name, state in detectors.items() if state is not None},
        }

    def restore(self, patient_id: UUID, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            log.warning("ignoring detector state of version %s for %s", state.get("version"), patient_id)
            return
        context = self.context(patient_id)
        context.baselines = {Series(int(k)): Baseline.load(v) for k, v in state["baselines"].items()}
        context.flagged = {Series(int(k)): set(v) for k, v in state["flagged"].items()}
        self._last_at[patient_id.int] = {Series(int(k)): need_time(at) for k, at in state["last_at"].items()}
        if state["gate"] is not None:
            self.gate.restore(patient_id, state["gate"])
        for detector in self.detectors:
            saved = state["detectors"].get(detector.name)
            if saved is not None:
                detector.restore(patient_id, saved)
