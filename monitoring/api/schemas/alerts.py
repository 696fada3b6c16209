"""API models: alerts as the care team sees and works them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from monitoring.api.schemas.common import FromOrm
from monitoring.domain import AlertStatus, Severity
from monitoring.storage.models import Alert, AlertEvent


class WindowOut(BaseModel):
    start: str = Field(description="ISO 8601, as the detector wrote it.")
    end: str


class ExplanationOut(BaseModel):
    """Why an alert was raised: ``detection.explain.Explanation`` as stored with the alert.

    The common fields are the same for every detector; what is particular to a
    rule (a forecast, a consensus episode, a model's name) comes as further keys.
    """

    model_config = ConfigDict(extra="allow")

    detector: str | None = Field(default=None, description="The detector that raised it.")
    rule: str | None = Field(default=None, description="The rule or model, in words.")
    series: str | None = None
    observed: list[dict[str, Any]] = Field(default_factory=list, description="Evidence: times, values.")
    threshold: dict[str, Any] | None = Field(default=None, description="Limits; where it clears.")
    score: dict[str, Any] | float | None = Field(default=None, description="What met the limits.")
    baseline: dict[str, Any] | float | None = Field(default=None, description="The patient's usual.")
    inputs: dict[str, Any] | None = Field(default=None, description="A score's several inputs.")
    drivers: list[dict[str, Any]] | None = Field(default=None, description="What moved (personal models).")
    window: WindowOut | None = Field(default=None, description="The episode so far.")
    late: dict[str, Any] | None = Field(default=None, description="Set when the reading arrived late.")


class AlertOut(FromOrm):
    id: UUID
    patient_id: UUID
    alert_type: str
    detector: str
    severity: Severity
    status: AlertStatus
    summary: str = Field(description="One sentence saying why the alert was raised.")
    explanation: ExplanationOut = Field(
        description="Rule or model, inputs, baseline, observed values, threshold, time window."
    )
    opened_at: datetime
    episode_started_at: datetime
    last_triggered_at: datetime
    occurrences: int
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    assigned_to: UUID | None = Field(description="The user working the alert, if assigned.")
    snoozed_until: datetime | None = Field(description="Out of the queue until then.")
    dismissed_reason: str | None = Field(description="Why it was dismissed as a false alert.")
    escalation_level: int = Field(description="0 until the alert escalates for want of acknowledgement.")
    escalated_at: datetime | None
    patient_name: str | None = Field(
        default=None, description="The patient's name (lists, details and the live stream)."
    )
    patient_mrn: str | None = None
    patient_time_zone: str | None = Field(default=None, description="The patient's IANA time zone.")
    assigned_to_name: str | None = Field(default=None, description="Who assigned_to is.")


class AlertEventOut(FromOrm):
    at: datetime
    kind: str
    actor: str | None
    detail: dict[str, Any]


class AlertDetail(AlertOut):
    events: list[AlertEventOut]


class DismissalCount(BaseModel):
    alert_type: str
    reason: str
    count: int


class NoteIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class DismissIn(BaseModel):
    reason: str = Field(
        min_length=3, max_length=500, description="Why this alert was false; used to tune detectors."
    )


class AssignIn(BaseModel):
    user_id: UUID


class SnoozeIn(BaseModel):
    until: datetime = Field(description="With UTC offset; at most 7 days ahead.")


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


def alert_detail(alert: Alert, events: Sequence[AlertEvent], names: Names | None = None) -> AlertDetail:
    """An alert with its history, as ``GET /alerts/{id}`` and every alert action answer."""
    return AlertDetail.model_validate(
        {
            **named(alert, names).model_dump(),
            "events": [AlertEventOut.model_validate(e) for e in events],
        }
    )


@dataclass(frozen=True, slots=True)
class Names:
    patients: dict[UUID, tuple[str, str, str]]  # name, MRN, time zone
    users: dict[UUID, str]


def named(alert: Alert, names: Names | None) -> AlertOut:
    """The alert with its patient's name and MRN and its assignee's name, when known."""
    out = AlertOut.model_validate(alert)
    if names is None:
        return out
    patient = names.patients.get(alert.patient_id)
    return out.model_copy(
        update={
            "patient_name": patient[0] if patient else None,
            "patient_mrn": patient[1] if patient else None,
            "patient_time_zone": patient[2] if patient else None,
            "assigned_to_name": names.users.get(alert.assigned_to) if alert.assigned_to else None,
        }
    )


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_ids: list[UUID] = Field(min_length=1, max_length=200, description="At most 200 alerts at once.")
    action: Literal["acknowledge", "resolve", "assign"]
    user_id: UUID | None = Field(default=None, description="Whom to assign them to (assign only).")
    note: str | None = Field(default=None, max_length=2000)


class BulkResultOut(BaseModel):
    alert_id: UUID
    ok: bool
    status: AlertStatus | None = Field(description="The alert's status afterwards, when it worked.")
    error: dict[str, str] | None = Field(description="code and message, when it did not.")


class BulkOut(BaseModel):
    done: int
    failed: int
    results: list[BulkResultOut] = Field(description="One per alert asked for, in the order asked.")


class QueueFacetsOut(BaseModel):
    total: int
    severity: dict[str, int] = Field(description="Alerts in the queue by severity.")
    alert_type: dict[str, int] = Field(description="Alerts in the queue by type.")
