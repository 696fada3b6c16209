"""What detectors consume (observations) and produce (findings)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec

from monitoring.catalogue import Series
from monitoring.domain import Severity
from monitoring.readings.records import StandardReading


class Observation(msgspec.Struct, frozen=True, gc=False):
    """A stored reading as the detectors see it (a struct: one is built per reading)."""

    patient_id: UUID
    series: Series
    at: datetime
    value: float
    device_id: UUID
    sqi: float | None = None

    @classmethod
    def of(cls, reading: StandardReading) -> Observation:
        r = reading
        return cls(r.patient_id, r.series, r.measured_at, r.value, r.device_id, r.sqi)


class FindingKind(StrEnum):
    OPEN = "open"  # an episode has begun: raise (or repeat) the alert
    UPDATE = "update"  # the episode goes on: refresh the alert's evidence
    CLEAR = "clear"  # the episode has ended


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's statement about one episode of one patient.

    ``episode_started_at`` identifies the episode: replaying the same readings
    yields the same episode, which is what keeps alerts from being duplicated.
    """

    patient_id: UUID
    alert_type: str
    detector: str
    kind: FindingKind
    severity: Severity
    episode_started_at: datetime
    at: datetime
    summary: str
    explanation: dict[str, Any] = field(default_factory=dict)  # an ``explain.Explanation`` document
    series: Series | None = None

    def arrived_late(self, delay: timedelta) -> Finding:
        """The same finding, saying that its reading arrived ``delay`` after it was measured."""
        late = {"late": {"received_after_s": round(delay.total_seconds())}}
        return replace(self, explanation={**self.explanation, **late})
