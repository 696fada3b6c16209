"""Episodes: anything with an onset, a course and an end that changes what is measured.

Clinical events, the things that must not alert (exercise, meals, artefacts)
and device faults are all episodes. Each carries its ground-truth label. An
episode changes named physiological signals (or, for sensor episodes, what one
device measures), scaled by its intensity over time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

# The physiological signals the simulator models.
Signal = Literal[
    "heart_rate",
    "spo2",
    "respiratory_rate",
    "body_temperature",
    "skin_temperature",
    "systolic",
    "diastolic",
    "body_weight",
    "glucose",
    "steps",
]
Kind = Literal["event", "non_event", "fault"]
Shape = Literal["plateau", "bump", "ramp"]


@dataclass(frozen=True, slots=True)
class Effect:
    """What an episode does to one signal at full intensity."""

    signal: Signal
    shift: float = 0.0  # added to the value
    target: float | None = None  # the value is pulled towards this
    extra_sd: float = 0.0  # added variability (e.g. the irregular rate of AF)


@dataclass(frozen=True, slots=True)
class Episode:
    type: str
    kind: Kind
    patient: str
    start: datetime
    end: datetime
    effects: tuple[Effect, ...] = ()
    severity: str = "none"
    shape: Shape = "plateau"
    onset: timedelta = timedelta(minutes=10)
    # Sensor episodes change what one device reports, not the patient.
    device: str | None = None
    # A symptomatic patient re-measures: extra readings from devices of this kind, this often.
    recheck: tuple[str, timedelta] | None = None
    # Which metrics a detector could see it in (for the labels file).
    metrics: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)

    def intensity(self, at: datetime) -> float:
        """0 outside the episode; rises over ``onset``, holds, falls over the last ``onset``."""
        if at < self.start or at >= self.end:
            return 0.0
        elapsed = (at - self.start).total_seconds()
        total = (self.end - self.start).total_seconds()
        if self.shape == "ramp":  # grows across the whole course (e.g. fluid build-up)
            return elapsed / total
        if self.shape == "bump":  # a meal response: gamma-like, peaks at ``onset``
            tau = max(self.onset.total_seconds(), 1.0)
            x = elapsed / tau
            return x * math.exp(1 - x)
        ramp = max(self.onset.total_seconds(), 1.0)
        remaining = total - elapsed
        return min(1.0, elapsed / ramp, remaining / ramp)

    def label(self) -> dict[str, Any]:
        return {
            "patient": self.patient,
            "type": self.type,
            "kind": self.kind,
            "severity": self.severity,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "metrics": list(self.metrics),
            **({"device": self.device} if self.device else {}),
            **self.detail,
        }
