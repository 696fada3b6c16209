"""How findings read: the typed explanation every alert carries, formatting, and the one constructor.

Every detector says why in the same terms (``Explanation``): the rule in words,
the observed evidence, the threshold (or the score against it), the patient's
baseline, and where they apply the inputs, the drivers and the series; what is
particular to a rule (a forecast, a consensus episode, a model) goes in
``details``. ``finding`` adds the detector and the window and turns it into the
JSON document stored with the alert and served by the API (``ExplanationOut``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.findings import Finding, FindingKind
from monitoring.domain import Severity


def fmt(value: float) -> str:
    return f"{round(value, 1):g}"


# The zone explanations are written in: the patient's, set by whoever runs the detectors for
# that patient (the engine per reading, the data-gap job per device). UTC when nobody set one.
WRITING_ZONE: ContextVar[tzinfo] = ContextVar("explanations_zone", default=UTC)


@contextmanager
def writing_in(zone: tzinfo) -> Iterator[None]:
    """Explanations made inside this block give their times in ``zone``."""
    token = WRITING_ZONE.set(zone)
    try:
        yield
    finally:
        WRITING_ZONE.reset(token)


def when(at: datetime) -> str:
    """A time as explanations give it, in the patient's zone and naming that zone.

    >>> from zoneinfo import ZoneInfo
    >>> t = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    >>> when(t)
    '2026-07-01 06:30 UTC'
    >>> with writing_in(ZoneInfo("Europe/Paris")):
    ...     when(t)
    '2026-07-01 08:30 Europe/Paris'
    """
    if at.utcoffset() is None:
        return at.isoformat()
    zone = WRITING_ZONE.get()
    name = "UTC" if zone is UTC else str(zone)
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M} {name}"


def points(readings: Iterable[tuple[datetime, float]]) -> list[dict[str, Any]]:
    return [{"at": at.isoformat(), "value": round(value, 2)} for at, value in readings]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a finding was made.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, 8, tzinfo=UTC)
    >>> why = Explanation(
    ...     rule="heart_rate > 120 /min", observed=[{"at": t.isoformat(), "value": 131}],
    ...     threshold={"limit": 120}, baseline={"mean": 72.0}, series="heart_rate",
    ... )
    >>> document = why.document(detector="threshold", started=t, at=t)
    >>> [key for key in document]
    ['detector', 'rule', 'series', 'observed', 'threshold', 'baseline', 'window']
    """

    rule: str  # the rule or model, in words
    observed: Sequence[Mapping[str, Any]]  # the evidence: times with values
    threshold: Mapping[str, Any] | None  # the limits (and where the episode clears)
    baseline: Mapping[str, Any] | float | None  # the patient's usual, when known
    series: str | None = None
    score: Mapping[str, Any] | float | None = None  # what was compared with the threshold
    inputs: Mapping[str, Any] | None = None  # for scores made of several inputs
    drivers: Sequence[Mapping[str, Any]] | None = None  # what moved, for the per-patient models
    details: Mapping[str, Any] = field(default_factory=dict)  # particular to the rule

    def document(self, *, detector: str, started: datetime, at: datetime) -> dict[str, Any]:
        """The JSON stored with the alert (and served by the API)."""
        document: dict[str, Any] = {"detector": detector, "rule": self.rule}
        if self.series is not None:
            document["series"] = self.series
        document.update(self.details)
        document["observed"] = list(self.observed)
        document["threshold"] = self.threshold
        if self.score is not None:
            document["score"] = self.score
        document["baseline"] = self.baseline
        if self.inputs is not None:
            document["inputs"] = self.inputs
        if self.drivers is not None:
            document["drivers"] = list(self.drivers)
        document["window"] = {"start": started.isoformat(), "end": at.isoformat()}
        return document


def finding(
    *,
    detector: str,
    patient_id: UUID,
    alert_type: str,
    step: str,
    started: datetime,
    at: datetime,
    severity: Severity,
    summary: str,
    explanation: Explanation,
    series: Series | None = None,
) -> Finding:
    """A finding whose explanation always names its detector and window."""
    return Finding(
        patient_id=patient_id,
        alert_type=alert_type,
        detector=detector,
        kind=FindingKind(step),
        severity=severity,
        episode_started_at=started,
        at=at,
        summary=summary,
        explanation=explanation.document(detector=detector, started=started, at=at),
        series=series,
    )
