"""Reports for clinicians, read from stored readings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from devices.kinds import KINDS, DeviceKind
from monitoring.alerts import repository as alerts
from monitoring.catalogue import Series
from monitoring.domain import Condition, GlucoseUnit
from monitoring.readings import repository
from monitoring.readings.repository import Bucket
from monitoring.readings.service import check_range, patient_trend
from monitoring.registry.service import patient_record
from monitoring.reports.chart import Marker, render
from monitoring.reports.glucose import GlucoseSummary, summarise
from monitoring.reports.printable import MAX_ALERTS, PatientReport, PrintedAlert
from monitoring.reports.vitals import (
    ADHERENCE_WINDOW,
    PressureSummary,
    Stats,
    pressure_summary,
    weight_changes,
)

MAX_REPORT_RANGE = timedelta(days=92)
MAX_POINTS = 100_000  # 92 days of 1-minute CGM is 132k; 5-minute CGM is 26k
_SOURCES = ((Series.GLUCOSE_CGM, DeviceKind.CGM), (Series.GLUCOSE_METER, DeviceKind.GLUCOMETER))
_SOURCE_NAMES = {Series.GLUCOSE_CGM: "CGM", Series.GLUCOSE_METER: "meter"}


@dataclass(frozen=True, slots=True)
class GlucoseReport:
    series: Series | None  # the CGM when there is one, else the meter; None without glucose data
    summary: GlucoseSummary


async def glucose_report(
    *, session: AsyncSession, patient_id: UUID, start: datetime, end: datetime, zone: tzinfo
) -> GlucoseReport:
    check_range(start, end, MAX_REPORT_RANGE)
    for series, kind in _SOURCES:
        points = await repository.fetch_range(
            session=session, patient_id=patient_id, series=series, start=start, end=end, limit=MAX_POINTS
        )
        if points:
            pairs = [(p.measured_at, p.value) for p in points]
            every = KINDS[kind].sample_every
            return GlucoseReport(
                series, summarise(pairs, expected_every=every, start=start, end=end, zone=zone)
            )
    every = KINDS[DeviceKind.CGM].sample_every
    return GlucoseReport(None, summarise([], expected_every=every, start=start, end=end, zone=zone))


@dataclass(frozen=True, slots=True)
class VitalsReport:
    pressure: PressureSummary
    weight_latest: float | None
    weight_changes: dict[int, float | None]
    heart_rate: Stats
    spo2: Stats
    adherence_days: int  # in the 30 days before the end


async def vitals_report(
    *, session: AsyncSession, patient_id: UUID, start: datetime, end: datetime, zone: ZoneInfo
) -> VitalsReport:
    check_range(start, end, MAX_REPORT_RANGE)

    async def points(series: Series) -> list[tuple[datetime, float]]:
        found = await repository.fetch_range(
            session=session, patient_id=patient_id, series=series, start=start, end=end, limit=MAX_POINTS
        )
        return [(p.measured_at, p.value) for p in found]

    weights = await points(Series.BODY_WEIGHT)
    days = await repository.days_with_readings(
        session=session, patient_ids=[patient_id], start=end - ADHERENCE_WINDOW, end=end, zone=zone.key
    )
    return VitalsReport(
        pressure=pressure_summary(await points(Series.BP_SYSTOLIC), await points(Series.BP_DIASTOLIC), zone),
        weight_latest=weights[-1][1] if weights else None,
        weight_changes=weight_changes(weights),
        heart_rate=Stats.of([v for _, v in await points(Series.HEART_RATE)]),
        spo2=Stats.of([v for _, v in await points(Series.SPO2)]),
        adherence_days=days[patient_id],
    )


CHART_POINTS = 400


async def series_chart(
    *, session: AsyncSession, patient_id: UUID, series: Series, start: datetime, end: datetime, zone: ZoneInfo
) -> bytes:
    """The PNG of one series with its care-plan limits and the alerts raised on it."""
    trend = await patient_trend(
        session=session, patient_id=patient_id, series=series, start=start, end=end, points=CHART_POINTS
    )
    record = await patient_record(session=session, patient_id=patient_id)
    limit = next((t for t in record.care_plan.thresholds if t.series is series), None)
    opened = await alerts.opened_in(
        session=session, patient_id=patient_id, series=int(series), start=start, end=end
    )
    markers = [Marker(at, kind, severity) for at, kind, severity in opened]
    info = series.info
    return await asyncio.to_thread(
        render,
        title=f"{info.label} ({info.loinc})",
        unit=info.unit,
        buckets=trend.buckets,
        low=None if limit is None else limit.low,
        high=None if limit is None else limit.high,
        alerts=markers,
        start=start,
        end=end,
        zone=zone,
    )


DAILY = timedelta(days=1)


async def patient_report(
    *,
    session: AsyncSession,
    patient_id: UUID,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    glucose_unit: GlucoseUnit,
) -> PatientReport:
    """What the printable report shows for one patient over [start, end), in their zone."""
    record = await patient_record(session=session, patient_id=patient_id)
    glucose = await glucose_report(session=session, patient_id=patient_id, start=start, end=end, zone=zone)
    vitals = await vitals_report(session=session, patient_id=patient_id, start=start, end=end, zone=zone)

    async def daily(series: Series) -> list[Bucket]:
        return await repository.buckets(
            session=session, patient_id=patient_id, series=series, start=start, end=end, width=DAILY
        )

    found, total = await alerts.alerts_begun(
        session=session, patient_id=patient_id, start=start, end=end, limit=MAX_ALERTS
    )
    patient = record.patient
    return PatientReport(
        name=patient.display_name,
        mrn=patient.mrn,
        birth_date=None if patient.birth_date is None else patient.birth_date.isoformat(),
        conditions=[Condition(c).label for c in patient.conditions],
        devices=[f"{DeviceKind(d.kind).label} {d.serial}" for d in record.devices],
        zone=zone,
        start=start,
        end=end,
        made_at=datetime.now(UTC),
        glucose_series=None if glucose.series is None else _SOURCE_NAMES[glucose.series],
        glucose=glucose.summary,
        glucose_unit=glucose_unit,
        pressure=vitals.pressure,
        systolic=await daily(Series.BP_SYSTOLIC),
        diastolic=await daily(Series.BP_DIASTOLIC),
        weight=await daily(Series.BODY_WEIGHT),
        weight_latest=vitals.weight_latest,
        weight_changes=vitals.weight_changes,
        heart_rate=vitals.heart_rate,
        spo2=vitals.spo2,
        adherence_days=vitals.adherence_days,
        alerts=[PrintedAlert(a.episode_started_at, a.severity, a.summary, a.status) for a in found],
        alerts_total=total,
    )
