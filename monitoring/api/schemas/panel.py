"""API models of the patient panel."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from monitoring.catalogue import Series
from monitoring.reports.glance import SPARK_SLOTS, SPARK_WIDTH
from monitoring.reports.panel import DeviceGlance, PanelRow


class LatestOut(BaseModel):
    series: str
    label: str
    value: float
    unit: str = Field(description="UCUM unit as stored (glucose in mg/dL).")
    measured_at: datetime


class DeviceGlanceOut(BaseModel):
    id: UUID
    kind: str
    serial: str
    online: bool
    battery: float | None
    last_seen_at: datetime | None = Field(description="When its last message arrived.")
    quiet: bool = Field(description="Silent longer than its kind's expected interval.")
    latest: list[LatestOut] = Field(
        description="Its newest reading of each series it measures (last 30 days)."
    )


class SparkOut(BaseModel):
    series: str
    label: str
    unit: str
    start: datetime
    slot_hours: float
    values: list[float | None] = Field(description="Mean per slot, oldest first; null: no readings.")


class PanelRowOut(BaseModel):
    patient_id: UUID
    display_name: str
    mrn: str
    conditions: list[str]
    care_team_id: UUID | None
    time_zone: str
    enrolled_at: datetime
    risk: int
    flags: list[str]
    open_alerts: dict[str, int] = Field(description="Open and acknowledged alerts by severity.")
    time_in_range: float | None = Field(description="% of CGM readings in 70-180 mg/dL, last 14 days.")
    time_below_70: float | None
    time_below_54: float | None
    time_above_250: float | None
    adherence_days: int = Field(
        description="Dates with readings among the last 30 since enrolment, in the patient's zone."
    )
    monitored_days: int = Field(
        description="Dates since enrolment in the patient's zone, today included, at most 30: "
        "what adherence_days is out of."
    )
    last_reading_at: datetime | None = Field(description="When any of the patient's devices was last heard.")
    devices: list[DeviceGlanceOut]
    spark: SparkOut | None
    glance_computed_at: datetime | None = Field(
        description="When time in range, adherence and the sparkline were computed (a job refreshes them)."
    )


def _device_out(d: DeviceGlance) -> DeviceGlanceOut:
    device = d.device
    return DeviceGlanceOut(
        id=device.id,
        kind=device.kind,
        serial=device.serial,
        online=device.online,
        battery=device.battery,
        last_seen_at=device.last_seen_at,
        quiet=device.quiet,
        latest=[
            LatestOut(
                series=r.series.key,
                label=r.series.info.label,
                value=r.value,
                unit=r.series.info.unit,
                measured_at=r.measured_at,
            )
            for r in sorted(d.latest, key=lambda r: int(r.series))
        ],
    )


def panel_row_out(row: PanelRow) -> PanelRowOut:
    p, t, g = row.patient, row.triage, row.glance
    spark = None
    if g is not None and g.spark_series is not None and g.spark is not None and g.computed_at is not None:
        series = Series(g.spark_series)
        spark = SparkOut(
            series=series.key,
            label=series.info.label,
            unit=series.info.unit,
            start=g.computed_at - SPARK_WIDTH * SPARK_SLOTS,
            slot_hours=SPARK_WIDTH.total_seconds() / 3600,
            values=g.spark,
        )
    return PanelRowOut(
        patient_id=p.id,
        display_name=p.display_name,
        mrn=p.mrn,
        conditions=list(p.conditions),
        care_team_id=p.care_team_id,
        time_zone=p.time_zone,
        enrolled_at=p.enrolled_at,
        risk=t.risk,
        flags=t.flags,
        open_alerts=t.open_alerts,
        time_in_range=t.time_in_range,
        time_below_70=t.time_below_70,
        time_below_54=t.time_below_54,
        time_above_250=g.time_above_250 if g else None,
        adherence_days=t.adherence_days,
        monitored_days=t.dates_monitored,
        last_reading_at=row.last_reading_at,
        devices=[_device_out(d) for d in sorted(row.devices, key=lambda d: (d.device.kind, d.device.serial))],
        spark=spark,
        glance_computed_at=g.computed_at if g else None,
    )
