"""API models for clinicians' reports."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class RangeShareOut(BaseModel):
    band: str = Field(
        description="very_low (<54), low (54-69), in_range (70-180), high (181-250), very_high (>250)"
    )
    percent: float


class HourProfileOut(BaseModel):
    hour: int = Field(description="Hour of the day in the requested time zone.")
    count: int
    percentiles: dict[int, float] = Field(description="5th, 25th, 50th, 75th and 95th percentile, mg/dL.")


class SufficiencyOut(BaseModel):
    days_with_data: int
    readings: int
    expected: int
    percent_expected: float
    sufficient: bool = Field(description="At least 14 days with 70 % of expected readings (consensus).")


class GlucoseReportOut(BaseModel):
    patient_id: UUID
    start: datetime
    end: datetime
    time_zone: str
    series: str | None = Field(description="glucose_cgm when the patient has a CGM, else glucose_meter.")
    unit: str = "mg/dL"
    time_in_ranges: list[RangeShareOut]
    mean: float | None
    gmi_percent: float | None = Field(description="Glucose management indicator: 3.31 + 0.02392 x mean.")
    cv_percent: float | None = Field(description="Coefficient of variation; stable at 36 % or less.")
    agp: list[HourProfileOut]
    sufficiency: SufficiencyOut


class StatsOut(BaseModel):
    count: int
    mean: float | None
    min: float | None
    max: float | None


class PressureOut(BaseModel):
    unit: str = "mm[Hg]"
    systolic: StatsOut
    diastolic: StatsOut
    morning_mean: list[float] | None = Field(description="[systolic, diastolic], readings 04:00-11:59 local.")
    evening_mean: list[float] | None = Field(description="[systolic, diastolic], readings 18:00-23:59 local.")
    home_category: str | None = Field(description="normal, elevated, stage 1 or stage 2 (home thresholds).")


class WeightOut(BaseModel):
    unit: str = "kg"
    latest: float | None
    change_1d: float | None
    change_3d: float | None
    change_7d: float | None


class AdherenceOut(BaseModel):
    days_with_readings: int = Field(description="In the 30 days before the end of the period.")
    meets_16_day_rule: bool


class VitalsReportOut(BaseModel):
    patient_id: UUID
    start: datetime
    end: datetime
    time_zone: str
    blood_pressure: PressureOut
    weight: WeightOut
    heart_rate: StatsOut
    spo2: StatsOut
    adherence: AdherenceOut


class TriageRowOut(BaseModel):
    patient_id: UUID
    display_name: str
    risk: int = Field(description="Open alerts weighted by severity, plus 20 per flag; the list's order.")
    flags: list[str]
    open_alerts: dict[str, int] = Field(description="Open or acknowledged alerts by severity.")
    time_below_70: float | None = Field(description="% of CGM readings, last 14 days.")
    time_below_54: float | None
    time_in_range: float | None
    previous_time_in_range: float | None = Field(description="The 14 days before.")
    adherence_days: int = Field(description="Days with readings in the last 30.")
    monitored_days: int = Field(
        description="Dates since enrolment in the patient's zone, today included, at most 30: "
        "what adherence_days is out of."
    )
    devices_offline: list[str]
