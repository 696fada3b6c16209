"""Patients, their care plan, devices and readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request

from monitoring.api.auditing import note_patients
from monitoring.api.deps import PageDep, SessionDep, SettingsDep
from monitoring.api.schemas.common import ErrorBody, Page
from monitoring.api.schemas.patients import (
    SERIES_PATTERN,
    PatientDetail,
    PatientOut,
    ReadingPoint,
    ReadingSeries,
    TrendBucket,
    TrendSeries,
    patient_detail,
)
from monitoring.api.security import PrincipalDep, visible_patient
from monitoring.catalogue import Series
from monitoring.readings.service import patient_series, patient_trend
from monitoring.registry import repository as registry
from monitoring.registry.service import patient_record

router = APIRouter(prefix="/patients", tags=["patients"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such patient."}}


@router.get("", summary="Patients of the caller's care teams (admins: their site)")
async def list_patients(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    care_team_id: Annotated[UUID | None, Query(description="Only patients of this care team.")] = None,
) -> Page[PatientOut]:
    rows, total = await registry.list_patients(
        session=session,
        scope=principal.patient_scope(),
        care_team_id=care_team_id,
        limit=page.limit,
        offset=page.offset,
    )
    note_patients(request, (p.id for p in rows), total=total)
    return Page(
        items=[PatientOut.model_validate(p) for p in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{patient_id}", summary="A patient with care plan and devices", responses=_NOT_FOUND)
async def get_patient(
    request: Request, session: SessionDep, principal: PrincipalDep, patient_id: UUID
) -> PatientDetail:
    await visible_patient(request=request, session=session, principal=principal, patient_id=patient_id)
    return patient_detail(await patient_record(session=session, patient_id=patient_id))


@router.get(
    "/{patient_id}/readings",
    summary="A patient's readings of one series in a time range, oldest first",
    responses={**_NOT_FOUND, 400: {"model": ErrorBody, "description": "Range not allowed."}},
)
async def get_readings(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    patient_id: UUID,
    series: Annotated[
        str,
        Query(
            pattern=SERIES_PATTERN,
            description="Series key: " + ", ".join(s.key for s in Series) + ".",
        ),
    ],
    start: Annotated[datetime | None, Query(description="Inclusive; default 24 h before end.")] = None,
    end: Annotated[datetime | None, Query(description="Exclusive; default now.")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 5000,
) -> ReadingSeries:
    await visible_patient(request=request, session=session, principal=principal, patient_id=patient_id)
    end = end or datetime.now(UTC)
    start = start or end - timedelta(hours=24)
    chosen = Series.from_key(series)
    window = await patient_series(
        session=session,
        patient_id=patient_id,
        series=chosen,
        start=start,
        end=end,
        limit=min(limit, settings.api.max_page_size * 100),
    )
    info = chosen.info
    return ReadingSeries(
        patient_id=patient_id,
        series=chosen.key,
        label=info.label,
        loinc=info.loinc,
        unit=info.unit,
        start=window.start,
        end=window.end,
        points=[
            ReadingPoint(
                at=p.measured_at,
                value=p.value,
                device_id=p.device_id,
                original_value=p.original_value,
                original_unit=p.original_unit,
            )
            for p in window.points
        ],
        truncated=window.truncated,
    )


@router.get(
    "/{patient_id}/trend",
    summary="A patient's series downsampled in the database: min, mean and max per bucket",
    responses={**_NOT_FOUND, 400: {"model": ErrorBody, "description": "Range not allowed."}},
)
async def get_trend(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    patient_id: UUID,
    series: Annotated[str, Query(pattern=SERIES_PATTERN, description="Series key.")],
    start: Annotated[datetime | None, Query(description="Inclusive; default 30 days before end.")] = None,
    end: Annotated[datetime | None, Query(description="Exclusive; default now.")] = None,
    points: Annotated[int, Query(ge=1, le=5000, description="At most this many buckets.")] = 500,
) -> TrendSeries:
    await visible_patient(request=request, session=session, principal=principal, patient_id=patient_id)
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=30)
    chosen = Series.from_key(series)
    trend = await patient_trend(
        session=session, patient_id=patient_id, series=chosen, start=start, end=end, points=points
    )
    info = chosen.info
    return TrendSeries(
        patient_id=patient_id,
        series=chosen.key,
        label=info.label,
        loinc=info.loinc,
        unit=info.unit,
        start=trend.start,
        end=trend.end,
        bucket_seconds=int(trend.width.total_seconds()),
        buckets=[
            TrendBucket(start=b.start, min=b.low, mean=b.mean, max=b.high, count=b.count)
            for b in trend.buckets
        ],
    )
