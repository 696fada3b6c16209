"""The one interface every detector implements, and what it is given about a patient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.baseline import Baseline
from monitoring.detection.findings import Finding, Observation
from monitoring.domain import Condition
from monitoring.registry.careplans import Threshold


@dataclass(slots=True)
class PatientContext:
    """What detectors know about one patient: care plan and learned baselines."""

    patient_id: UUID
    conditions: frozenset[Condition] = frozenset()
    thresholds: dict[Series, Threshold] = field(default_factory=dict)
    baselines: dict[Series, Baseline] = field(default_factory=dict)

    def baseline(self, series: Series) -> Baseline:
        found = self.baselines.get(series)
        if found is None:
            found = self.baselines[series] = Baseline()
        return found


class Detector(Protocol):
    """An online detector: sees each observation once, in time order, per patient."""

    name: str

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        """Score ``observation`` against what was learned so far, then learn from it."""
        ...

    def forget(self, patient_id: UUID) -> None:
        """Drop all state held for a patient."""
        ...
