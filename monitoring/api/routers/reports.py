"""Clinicians' reports on one patient."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access.principal import Principal
from monitoring.access.repository import get_user
from monitoring.api.deps import SessionDep
from monitoring.api.schemas.common import ErrorBody
from monitoring.api.schemas.patients import SERIES_PATTERN
from monitoring.api.schemas.reports import (
    AdherenceOut,
    GlucoseReportOut,
    HourProfileOut,
    PressureOut,
    RangeShareOut,
    StatsOut,
    SufficiencyOut,
    VitalsReportOut,
    WeightOut,
)
from monitoring.api.security import PrincipalDep, visible_patient
from monitoring.catalogue import Series
from monitoring.domain import GlucoseUnit, time_zone
from monitoring.errors import InvalidRequestError
from monitoring.reports.printable import render_pdf
from monitoring.reports.service import glucose_report, patient_report, series_chart, vitals_report
from monitoring.reports.vitals import ADHERENCE_DAYS, Stats
from monitoring.storage.models import Patient

router = APIRouter(prefix="/patients/{patient_id}/reports", tags=["reports"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such patient in your care teams."},
    400: {"model": ErrorBody, "description": "Range or time zone not allowed."},
}


def _zone(tz: str | None, patient: Patient) -> ZoneInfo:
    """The zone asked for, else the patient's own."""
    try:
        return time_zone(tz or patient.time_zone)
    except ValueError as error:
        raise InvalidRequestError(str(error)) from error


_TZ = Query(max_length=64, description="IANA time zone; default the patient's own.")


async def _subject(
    request: Request, session: AsyncSession, principal: Principal, patient_id: UUID, tz: str | None
) -> tuple[Patient, ZoneInfo]:
    """The patient (if the caller may see them) and the zone their report is in."""
    patient = await visible_patient(
        request=request, session=session, principal=principal, patient_id=patient_id
    )
    return patient, _zone(tz, patient)


def _window(start: datetime | None, end: datetime | None, default: timedelta) -> tuple[datetime, datetime]:
    """The range asked for; without an end, up to now; without a start, ``default`` before the end."""
    end = end or datetime.now(UTC)
    return start or end - default, end


def _stats(stats: Stats) -> StatsOut:
    return StatsOut(count=stats.count, mean=stats.mean, min=stats.low, max=stats.high)


@router.get("/glucose", summary="Time in ranges, mean, GMI, CV, AGP and data sufficiency", responses=_ERRORS)
async def get_glucose_report(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient_id: UUID,
    start: Annotated[datetime | None, Query(description="Inclusive; default 14 days before end.")] = None,
    end: Annotated[datetime | None, Query(description="Exclusive; default now.")] = None,
    tz: Annotated[str | None, _TZ] = None,
) -> GlucoseReportOut:
    patient, zone = await _subject(request, session, principal, patient_id, tz)
    start, end = _window(start, end, timedelta(days=14))
    report = await glucose_report(session=session, patient_id=patient_id, start=start, end=end, zone=zone)
    s = report.summary
    return GlucoseReportOut(
        patient_id=patient_id,
        start=start,
        end=end,
        time_zone=zone.key,
        series=None if report.series is None else report.series.key,
        time_in_ranges=[RangeShareOut(band=r.band, percent=r.percent) for r in s.ranges],
        mean=s.mean,
        gmi_percent=s.gmi,
        cv_percent=s.cv,
        agp=[HourProfileOut(hour=h.hour, count=h.count, percentiles=h.percentiles) for h in s.agp],
        sufficiency=SufficiencyOut(
            days_with_data=s.sufficiency.days_with_data,
            readings=s.sufficiency.readings,
            expected=s.sufficiency.expected,
            percent_expected=s.sufficiency.percent_expected,
            sufficient=s.sufficiency.sufficient,
        ),
    )


@router.get(
    "/vitals",
    summary="Blood pressure (morning, evening, home category), weight change, heart rate, SpO2, adherence",
    responses=_ERRORS,
)
async def get_vitals_report(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient_id: UUID,
    start: Annotated[datetime | None, Query(description="Inclusive; default 30 days before end.")] = None,
    end: Annotated[datetime | None, Query(description="Exclusive; default now.")] = None,
    tz: Annotated[str | None, _TZ] = None,
) -> VitalsReportOut:
    patient, zone = await _subject(request, session, principal, patient_id, tz)
    start, end = _window(start, end, timedelta(days=30))
    report = await vitals_report(session=session, patient_id=patient_id, start=start, end=end, zone=zone)
    bp, changes = report.pressure, report.weight_changes
    return VitalsReportOut(
        patient_id=patient_id,
        start=start,
        end=end,
        time_zone=zone.key,
        blood_pressure=PressureOut(
            systolic=_stats(bp.systolic),
            diastolic=_stats(bp.diastolic),
            morning_mean=list(bp.morning) if bp.morning else None,
            evening_mean=list(bp.evening) if bp.evening else None,
            home_category=bp.category,
        ),
        weight=WeightOut(
            latest=report.weight_latest, change_1d=changes[1], change_3d=changes[3], change_7d=changes[7]
        ),
        heart_rate=_stats(report.heart_rate),
        spo2=_stats(report.spo2),
        adherence=AdherenceOut(
            days_with_readings=report.adherence_days,
            meets_16_day_rule=report.adherence_days >= ADHERENCE_DAYS,
        ),
    )


@router.get(
    "/chart.png",
    summary="A PNG chart of one series with care-plan limits and alerts marked",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"image/png": {}}, "description": "The chart."}},
)
async def get_chart(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient_id: UUID,
    series: Annotated[str, Query(pattern=SERIES_PATTERN, description="Series key.")],
    start: Annotated[datetime | None, Query(description="Inclusive; default 7 days before end.")] = None,
    end: Annotated[datetime | None, Query(description="Exclusive; default now.")] = None,
    tz: Annotated[str | None, _TZ] = None,
) -> Response:
    patient, zone = await _subject(request, session, principal, patient_id, tz)
    start, end = _window(start, end, timedelta(days=7))
    png = await series_chart(
        session=session,
        patient_id=patient_id,
        series=Series.from_key(series),
        start=start,
        end=end,
        zone=zone,
    )
    return Response(content=png, media_type="image/png")


@router.get(
    "/summary.pdf",
    summary="The printable report: glucose AGP and time in ranges, BP, weight, adherence, alerts",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"application/pdf": {}}, "description": "Two A4 pages."}},
)
async def get_printable_report(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient_id: UUID,
    start: Annotated[datetime | None, Query(description="Inclusive; default 14 days before end.")] = None,
    end: Annotated[datetime | None, Query(description="Exclusive; default now.")] = None,
    tz: Annotated[str | None, _TZ] = None,
    unit: Annotated[
        GlucoseUnit | None, Query(description="Glucose unit; default the signed-in user's choice.")
    ] = None,
) -> Response:
    patient, zone = await _subject(request, session, principal, patient_id, tz)
    start, end = _window(start, end, timedelta(days=14))
    if unit is None:
        user = await get_user(session=session, user_id=principal.user_id)
        unit = GlucoseUnit(user.glucose_unit) if user is not None else GlucoseUnit.MG_DL
    report = await patient_report(
        session=session, patient_id=patient_id, start=start, end=end, zone=zone, glucose_unit=unit
    )
    pdf = await asyncio.to_thread(render_pdf, report)
    name = f"report-{patient.mrn}-{end.astimezone(zone):%Y-%m-%d}.pdf"
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
