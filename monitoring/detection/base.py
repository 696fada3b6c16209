"""The one interface every detector implements, and what it is given about a patient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
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
    zone: tzinfo = UTC  # the patient's time zone: explanations give their times in it

    def baseline(self, series: Series) -> Baseline:
        found = self.baselines.get(series)
        if found is None:
            found = self.baselines[series] = Baseline()
        return found

    def is_flagged(self, series: Series) -> bool:
        return bool(self.flagged.get(series))

    def has(self, condition: Condition) -> bool:
        return condition in self.conditions


@dataclass(frozen=True, slots=True)
class Scope:
    """Whom a rule applies to: patients with one of ``conditions``, or whose care plan opts in.

    A care plan opts a patient in by setting a threshold on ``opt_in_series``
    (a care team that sets a weight limit wants weight watched). With no
    conditions the rule applies to everyone.

    >>> from uuid import uuid4
    >>> hf = Scope(frozenset({Condition.HEART_FAILURE}), Series.BODY_WEIGHT)
    >>> hf.applies(PatientContext(uuid4(), conditions=frozenset({Condition.HYPERTENSION})))
    False
    >>> hf.applies(PatientContext(uuid4(), conditions=frozenset({Condition.HEART_FAILURE})))
    True
    """

    conditions: frozenset[Condition] = frozenset()
    opt_in_series: Series | None = None

    @property
    def everyone(self) -> bool:
        return not self.conditions

    def applies(self, context: PatientContext) -> bool:
        if not self.conditions or self.conditions & context.conditions:
            return True
        return self.opt_in_series is not None and self.opt_in_series in context.thresholds

    def describe(self) -> str:
        if not self.conditions:
            return "every patient"
        names = " or ".join(sorted(c.value.replace("_", " ") for c in self.conditions))
        extra = f", or a care plan with a {self.opt_in_series.key} limit" if self.opt_in_series else ""
        return f"patients with {names}{extra}"


EVERYONE = Scope()


class Detector(Protocol):
    """An online detector: sees each observation once, in time order, per patient.

    It scores an observation against what it learned before, and only then
    learns from it. Its per-patient state dumps to JSON and loads back exactly.
    """

    name: str
    # A detector may also have ``series``: the only series it looks at (a frozenset). The engine
    # then calls it for those alone; without one it sees every reading. And it may have ``scope``
    # (a Scope): the patients it applies to; without one it applies to everyone.

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
