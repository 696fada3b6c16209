"""API models: what the care team sees. Separate from the ORM models and from the wire payload."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from monitoring.api.probes import ComponentStatus
from monitoring.domain import AlertStatus, Severity

T = TypeVar("T")


class FieldProblem(BaseModel):
    location: str = Field(examples=["body.url"], description="Where in the request: query, path or body.")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    fields: list[FieldProblem] | None = Field(
        default=None, description="For a malformed request (422): each field that is wrong, and why."
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Items matching the filters, across all pages.")
    limit: int
    offset: int


class _FromOrm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PatientOut(_FromOrm):
    id: UUID
    site_id: UUID
    care_team_id: UUID | None = Field(description="The care team that looks after the patient.")
    mrn: str = Field(description="Medical record number at the patient's site.")
    display_name: str
    birth_date: date | None
    conditions: list[str]
    status: str
    enrolled_at: datetime


class ThresholdOut(BaseModel):
    series: str
    unit: str
    low: float | None
    high: float | None
    severity: Severity
    persist_readings: int
    persist_seconds: int | None
    high_persist_readings: int | None
    high_persist_seconds: int | None
    hysteresis: float


class DeviceOut(_FromOrm):
    id: UUID
    serial: str
    kind: str
    patient_id: UUID | None
    site_id: UUID | None
    status: str
    online: bool
    battery: float | None
    firmware: str | None
    last_seen_at: datetime | None


class PatientDetail(PatientOut):
    care_plan: list[ThresholdOut]
    devices: list[DeviceOut]


class ReadingPoint(BaseModel):
    at: datetime
    value: float
    device_id: UUID
    original_value: float | None = Field(description="As the device sent it, before conversion.")
    original_unit: str | None


class ReadingSeries(BaseModel):
    patient_id: UUID
    series: str
    label: str
    loinc: str = Field(description="LOINC code of the observation.")
    unit: str = Field(description="Canonical UCUM unit of every value.")
    start: datetime
    end: datetime
    points: list[ReadingPoint]
    truncated: bool = Field(description="True when more points exist than the limit returned.")


class TrendBucket(BaseModel):
    start: datetime = Field(description="Start of the bucket; it lasts bucket_seconds.")
    min: float
    mean: float
    max: float
    count: int = Field(description="Readings in the bucket.")


class TrendSeries(BaseModel):
    patient_id: UUID
    series: str
    label: str
    loinc: str
    unit: str
    start: datetime
    end: datetime
    bucket_seconds: int
    buckets: list[TrendBucket] = Field(description="Only buckets with readings, oldest first.")


class AlertOut(_FromOrm):
    id: UUID
    patient_id: UUID
    alert_type: str
    detector: str
    severity: Severity
    status: AlertStatus
    summary: str = Field(description="One sentence saying why the alert was raised.")
    explanation: dict[str, Any] = Field(
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


class AlertEventOut(_FromOrm):
    at: datetime
    kind: str
    actor: str | None
    detail: dict[str, Any]


class AlertDetail(AlertOut):
    events: list[AlertEventOut]


class DeadLetterOut(_FromOrm):
    id: int
    received_at: datetime
    topic: str
    device_serial: str | None
    seq: int | None
    reading_index: int | None
    code: str = Field(description="Machine-readable reason, see the wire contract's error codes.")
    message: str
    payload_excerpt: str = Field(description="The raw payload as text (bounded).")
    payload_truncated: bool


class Health(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    ready: bool
    components: list[ComponentStatus]
