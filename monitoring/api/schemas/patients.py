"""API models: patients, their care plans, readings and trends, devices and enrolment."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from devices.contract import DEVICE_ID_PATTERN
from monitoring.api.schemas.common import FromOrm
from monitoring.catalogue import Series
from monitoring.domain import Condition, Severity, time_zone
from monitoring.registry.careplans import Threshold
from monitoring.registry.service import PatientRecord, checked_threshold

SERIES_PATTERN = "^(" + "|".join(s.key for s in Series) + ")$"


class PatientOut(FromOrm):
    id: UUID
    site_id: UUID
    care_team_id: UUID | None = Field(description="The care team that looks after the patient.")
    mrn: str = Field(description="Medical record number at the patient's site.")
    display_name: str
    birth_date: date | None
    conditions: list[str]
    status: str
    enrolled_at: datetime
    time_zone: str = Field(description="IANA zone the patient lives in; reports and explanations use it.")


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


class DeviceOut(FromOrm):
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


class DeadLetterOut(FromOrm):
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


class ThresholdIn(BaseModel):
    """Limits for one series; outside them for the persistence window, an alert."""

    low: float | None = Field(default=None, description="In the series' canonical unit.")
    high: float | None = None
    severity: Severity = Severity.HIGH
    persist_readings: int = Field(default=3, ge=1, le=10_000)
    persist_seconds: int | None = Field(default=None, ge=0, le=7 * 86_400)
    high_persist_readings: int | None = Field(default=None, ge=1, le=10_000)
    high_persist_seconds: int | None = Field(default=None, ge=0, le=7 * 86_400)
    hysteresis: float = Field(default=0.0, ge=0)


class SeriesThresholdIn(ThresholdIn):
    series: str = Field(pattern=SERIES_PATTERN)

    def threshold(self) -> Threshold:
        return checked_threshold(series=Series.from_key(self.series), **self.model_dump(exclude={"series"}))


class PatientIn(BaseModel):
    mrn: str = Field(min_length=1, max_length=64, description="Medical record number at your site.")
    display_name: str = Field(min_length=1, max_length=200)
    birth_date: date | None = None
    conditions: list[Condition] = Field(default_factory=list, max_length=10)
    care_team_id: UUID | None = None
    time_zone: str = Field(
        default="UTC",
        max_length=64,
        examples=["Europe/Paris"],
        description="IANA zone the patient lives in: days, mornings and the times in explanations follow it.",
    )
    care_plan: list[SeriesThresholdIn] = Field(
        default_factory=list, max_length=20, description="Overrides of the conditions' default limits."
    )

    @field_validator("time_zone")
    @classmethod
    def known_zone(cls, name: str) -> str:
        return time_zone(name).key


class DeviceIn(BaseModel):
    serial: str = Field(pattern=DEVICE_ID_PATTERN, description="Also the device's MQTT username.")
    kind: str = Field(max_length=32, examples=["wearable"])
    patient_id: UUID | None = None


class DeviceAssignIn(BaseModel):
    patient_id: UUID


class Credentials(BaseModel):
    device: DeviceOut
    mqtt_username: str
    mqtt_password: str = Field(description="Shown only in this response; stored as a hash.")
    readings_topic: str = Field(description="Where the device publishes its readings.")


def threshold_out(t: Threshold) -> ThresholdOut:
    return ThresholdOut(
        series=t.series.key,
        unit=t.series.info.unit,
        low=t.low,
        high=t.high,
        severity=t.severity,
        persist_readings=t.persist_readings,
        persist_seconds=t.persist_seconds,
        high_persist_readings=t.high_persist_readings,
        high_persist_seconds=t.high_persist_seconds,
        hysteresis=t.hysteresis,
    )


def patient_detail(record: PatientRecord) -> PatientDetail:
    return PatientDetail.model_validate(
        {
            **PatientOut.model_validate(record.patient).model_dump(),
            "care_plan": [
                threshold_out(t) for t in sorted(record.care_plan.thresholds, key=lambda t: t.series)
            ],
            "devices": [DeviceOut.model_validate(d) for d in record.devices],
        }
    )
