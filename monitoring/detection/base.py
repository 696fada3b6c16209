"""The one interface every detector implements, and what it is given about a patient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.baseline import Baseline
from monitoring.detection.findings import Finding, Observation
from monitoring.domain import Condition
from monitoring.registry.careplans import Threshold


@dataclass(slots=True)
class PatientContext:
    """What detectors know about one patient: care plan, learned baselines, open episodes.

    ``flagged`` holds the series some detector currently calls abnormal: models
    do not learn "usual" from them.
    """

    patient_id: UUID
    conditions: frozenset[Condition] = frozenset()
    thresholds: dict[Series, Threshold] = field(default_factory=dict)
    baselines: dict[Series, Baseline] = field(default_factory=dict)
    flagged: dict[Series, set[str]] = field(default_factory=dict)

    def baseline(self, series: Series) -> Baseline:
        found = self.baselines.get(series)
        if found is None:
            found = self.baselines[series] = Baseline()
        return found

    def is_flagged(self, series: Series) -> bool:
        return bool(self.flagged.get(series))

    def has(self, condition: Condition) -> bool:
        return condition in self.conditions


class Detector(Protocol):
    """An online detector: sees each observation once, in time order, per patient.

    It scores an observation against what it learned before, and only then
    learns from it. Its per-patient state dumps to JSON and loads back exactly.
    """

    name: str
    # A detector may also have ``series``: the only series it looks at (a frozenset). The engine
    # then calls it for those alone; without one it sees every reading.

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        """Score ``observation`` against what was learned so far, then learn from it."""
        ...

    def forget(self, patient_id: UUID) -> None:
        """Drop all state held for a patient."""
        ...

    def snapshot(self, patient_id: UUID) -> dict[str, Any] | None:
        """The patient's state as JSON, or None when there is none."""
        ...

    def restore(self, patient_id: UUID, state: dict[str, Any]) -> None:
        """Replace the patient's state with one taken by ``snapshot``."""
        ...


@runtime_checkable
class LateAware(Protocol):
    """A detector that can still judge a reading that arrives after newer ones.

    Such a reading changes no state; only rules that need nothing but the
    reading itself can apply.
    """

    def observe_late(self, observation: Observation, context: PatientContext) -> Sequence[Finding]: ...
