"""Reading queries for the care team: a patient's series over a time range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.errors import InvalidRequestError
from monitoring.readings import repository
from monitoring.readings.repository import StoredPoint
from monitoring.registry.service import require_patient

# One request may not scan more than this; longer views use rollups.
MAX_RANGE = timedelta(days=92)


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
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRequestError("start and end need a time zone (e.g. 2026-11-23T08:00:00Z)")
    if end <= start:
        raise InvalidRequestError("end must be after start")
    if end - start > MAX_RANGE:
        raise InvalidRequestError(f"a range may span at most {MAX_RANGE.days} days")
    await require_patient(session=session, patient_id=patient_id)
    points = await repository.fetch_range(
        session=session, patient_id=patient_id, series=series, start=start, end=end, limit=limit + 1
    )
    return SeriesWindow(patient_id, series, start, end, points[:limit], len(points) > limit)
