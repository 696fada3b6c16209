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
