"""The detection engine: routes each new reading, in time order, through every detector."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.base import Detector, PatientContext
from monitoring.detection.findings import Finding, Observation
from monitoring.ingest.records import StandardReading
from monitoring.registry.careplans import CarePlan

log = logging.getLogger(__name__)


class DetectionEngine:
    """Holds per-patient context and detector state; evaluates batches of new readings."""

    def __init__(self, detectors: Sequence[Detector], *, context_ttl_s: float = 30.0) -> None:
        self.detectors = tuple(detectors)
        self.context_ttl_s = context_ttl_s
        self._contexts: dict[UUID, PatientContext] = {}
        self._loaded_at: dict[UUID, float] = {}
        self._last_at: dict[tuple[UUID, Series], datetime] = {}
        self.out_of_order = 0

    def stale_contexts(self, patient_ids: Iterable[UUID]) -> set[UUID]:
        """Patients whose care plan is not loaded, or was loaded too long ago."""
        now = time.monotonic()
        return {p for p in patient_ids if now - self._loaded_at.get(p, -1e18) > self.context_ttl_s}

    def set_care_plan(self, patient_id: UUID, plan: CarePlan) -> None:
        """Install or refresh a patient's care plan, keeping what was learned about them."""
        context = self._contexts.get(patient_id)
        if context is None:
            context = self._contexts[patient_id] = PatientContext(patient_id)
        context.conditions = plan.conditions
        context.thresholds = {t.series: t for t in plan.thresholds}
        self._loaded_at[patient_id] = time.monotonic()

    def forget(self, patient_id: UUID) -> None:
        self._contexts.pop(patient_id, None)
        self._loaded_at.pop(patient_id, None)
        for detector in self.detectors:
            detector.forget(patient_id)

    def evaluate(self, readings: Sequence[StandardReading]) -> list[Finding]:
        """Feed new readings to the detectors in measurement order; return their findings.

        A reading older than the newest one already evaluated for its patient and
        series is stored but not evaluated: online detectors only move forward.
        """
        findings: list[Finding] = []
        for reading in sorted(readings, key=lambda r: r.measured_at):
            key = (reading.patient_id, reading.series)
            last = self._last_at.get(key)
            if last is not None and reading.measured_at <= last:
                self.out_of_order += 1
                continue
            self._last_at[key] = reading.measured_at
            context = self._contexts.get(reading.patient_id)
            if context is None:
                context = self._contexts[reading.patient_id] = PatientContext(reading.patient_id)
            observation = Observation.of(reading)
            for detector in self.detectors:
                findings.extend(detector.observe(observation, context))
        return findings
