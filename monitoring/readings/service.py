"""Reading queries for the care team: a patient's series over a time range, raw or downsampled."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.errors import InvalidRequestError
from monitoring.readings import repository
from monitoring.readings.repository import Bucket, StoredPoint
from monitoring.registry.service import require_patient

# One request may not scan more than this; longer views use rollups.
MAX_RANGE = timedelta(days=92)


MAX_TREND_RANGE = timedelta(days=366)  # downsampled in the database, so a year is affordable


def check_range(start: datetime, end: datetime, longest: timedelta) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRequestError("start and end need a time zone (e.g. 2026-11-23T08:00:00Z)")
    if end <= start:
        raise InvalidRequestError("end must be after start")
    if end - start > longest:
        raise InvalidRequestError(f"a range may span at most {longest.days} days")


@dataclass(frozen=True, slots=True)
class Trend:
    start: datetime
    end: datetime
    width: timedelta
    buckets: list[Bucket]


async def patient_trend(
    *, session: AsyncSession, patient_id: UUID, series: Series, start: datetime, end: datetime, points: int
) -> Trend:
    """The series cut into at most ``points`` equal buckets (whole seconds), min/mean/max in each."""
    check_range(start, end, MAX_TREND_RANGE)
    width = timedelta(seconds=max(1, math.ceil((end - start).total_seconds() / points)))
    found = await repository.buckets(
        session=session, patient_id=patient_id, series=series, start=start, end=end, width=width
    )
    return Trend(start, end, width, found)


@dataclass(frozen=True, slots=True)
class SeriesWindow:
    patient_id: UUID
    series: Series
    start: datetime
    end: datetime
    points: list[StoredPoint]
    truncated: bool


async def patient_series(
    *,
    session: AsyncSession,
    patient_id: UUID,
    series: Series,
    start: datetime,
    end: datetime,
    limit: int,
) -> SeriesWindow:
    check_range(start, end, MAX_RANGE)
    await require_patient(session=session, patient_id=patient_id)
    points = await repository.fetch_range(
        session=session, patient_id=patient_id, series=series, start=start, end=end, limit=limit + 1
    )
    return SeriesWindow(patient_id, series, start, end, points[:limit], len(points) > limit)
