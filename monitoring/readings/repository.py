"""All SQL that reads readings (trends, reports, the queue's sparklines) and detector checkpoints.

What stores them is ``monitoring.readings.store_repository``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.readings.records import StandardReading
from monitoring.storage.models import DetectorCheckpoint, Reading


@dataclass(frozen=True, slots=True)
class StoredPoint:
    measured_at: datetime
    value: float
    device_id: UUID
    original_value: float | None
    original_unit: str | None


async def fetch_range(
    *,
    session: AsyncSession,
    patient_id: UUID,
    series: Series,
    start: datetime,
    end: datetime,
    limit: int,
) -> list[StoredPoint]:
    """Readings of one series of one patient in [start, end), oldest first."""
    result = await session.execute(
        select(
            Reading.measured_at,
            Reading.value,
            Reading.device_id,
            Reading.original_value,
            Reading.original_unit,
        )
        .where(
            Reading.patient_id == patient_id,
            Reading.series == int(series),
            Reading.measured_at >= start,
            Reading.measured_at < end,
        )
        .order_by(Reading.measured_at)
        .limit(limit)
    )
    return [StoredPoint(*row) for row in result]


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    low: float
    mean: float
    high: float
    count: int


_BUCKETS = text(
    "SELECT date_bin(CAST(:width AS interval), measured_at, CAST(:origin AS timestamptz)) AS bucket, "
    "min(value), avg(value), max(value), count(*) FROM readings "
    "WHERE patient_id = :patient_id AND series = :series AND measured_at >= :start AND measured_at < :end "
    "GROUP BY bucket ORDER BY bucket"
)


async def buckets(
    *,
    session: AsyncSession,
    patient_id: UUID,
    series: Series,
    start: datetime,
    end: datetime,
    width: timedelta,
) -> list[Bucket]:
    """Min, mean, max and count per ``width`` bucket from ``start``, computed in the database."""
    result = await session.execute(
        _BUCKETS,
        {
            "width": width,
            "origin": start,
            "patient_id": patient_id,
            "series": int(series),
            "start": start,
            "end": end,
        },
    )
    return [Bucket(at, low, mean, high, count) for at, low, mean, high, count in result]


_DAYS = text(
    "SELECT r.patient_id, count(DISTINCT CAST(timezone(:zone, r.measured_at) AS date)) "
    "FROM readings r JOIN patients p ON p.id = r.patient_id "
    "WHERE r.patient_id = ANY(:patient_ids) AND r.measured_at >= :start AND r.measured_at < :end "
    "AND (NOT :from_enrolment "
    "OR CAST(timezone(:zone, r.measured_at) AS date) >= CAST(timezone(:zone, p.enrolled_at) AS date)) "
    "GROUP BY r.patient_id"
)


async def days_with_readings(
    *,
    session: AsyncSession,
    patient_ids: Sequence[UUID],
    start: datetime,
    end: datetime,
    zone: str,
    from_enrolment: bool = False,
) -> dict[UUID, int]:
    """Per patient, the local days in [start, end) with at least one reading of any series; with
    ``from_enrolment``, only days from the (local) date of their enrolment on, so that readings a
    device uploaded from before never count more days than the patient has been monitored."""
    result = await session.execute(
        _DAYS,
        {
            "zone": zone,
            "patient_ids": list(patient_ids),
            "start": start,
            "end": end,
            "from_enrolment": from_enrolment,
        },
    )
    found = dict.fromkeys(patient_ids, 0)
    found.update({patient_id: int(days) for patient_id, days in result})
    return found


_BANDS = text(
    "SELECT patient_id, measured_at >= :split AS recent, count(*), "
    "count(*) FILTER (WHERE value < 70), count(*) FILTER (WHERE value < 54), "
    "count(*) FILTER (WHERE value >= 70 AND value < 180.5), count(*) FILTER (WHERE value >= 250.5) "
    "FROM readings "
    "WHERE patient_id = ANY(:patient_ids) AND series = :series "
    "AND measured_at >= :start AND measured_at < :end "
    "GROUP BY patient_id, recent"
)


@dataclass(frozen=True, slots=True)
class GlucoseCounts:
    readings: int
    below_70: int
    below_54: int
    in_range: int
    above_250: int


async def glucose_counts(
    *, session: AsyncSession, patient_ids: Sequence[UUID], series: Series, split: datetime, span: timedelta
) -> dict[tuple[UUID, bool], GlucoseCounts]:
    """Per patient, counts of readings below 70, below 54, in 70-180 and above 250 mg/dL for the ``span``
    after ``split`` (key True) and the ``span`` before it (key False)."""
    result = await session.execute(
        _BANDS,
        {
            "split": split,
            "patient_ids": list(patient_ids),
            "series": int(series),
            "start": split - span,
            "end": split + span,
        },
    )
    return {
        (pid, recent): GlucoseCounts(n, low, very_low, ok, very_high)
        for pid, recent, n, low, very_low, ok, very_high in result
    }


async def stream_unseen(
    *, session: AsyncSession, since: datetime, margin: timedelta, chunk: int = 5000
) -> AsyncIterator[list[StandardReading]]:
    """Readings measured since ``since`` that the saved detector state may not have seen, in order.

    For a patient with a checkpoint, that is what was received after it was
    saved (less ``margin``: a batch is stored before it is evaluated); for a
    patient without one, everything since ``since``.
    """
    result = await session.stream(
        select(Reading)
        .outerjoin(DetectorCheckpoint, DetectorCheckpoint.patient_id == Reading.patient_id)
        .where(
            Reading.measured_at >= since,
            or_(
                DetectorCheckpoint.saved_at.is_(None),
                Reading.received_at >= DetectorCheckpoint.saved_at - margin,
            ),
        )
        .order_by(Reading.measured_at)
        .execution_options(yield_per=chunk)
    )
    async for partition in result.scalars().partitions(chunk):
        yield [
            StandardReading(
                patient_id=r.patient_id,
                device_id=r.device_id,
                series=Series(r.series),
                measured_at=r.measured_at,
                value=r.value,
                seq=r.seq,
                received_at=r.received_at,
                original_value=r.original_value,
                original_unit=r.original_unit,
                sqi=r.sqi,
            )
            for r in partition
        ]


_SPARK = text(
    "SELECT patient_id, floor(extract(epoch FROM measured_at - :start) / :width) AS slot, avg(value) "
    "FROM readings WHERE patient_id = ANY(:patient_ids) AND series = :series "
    "AND measured_at >= :start AND measured_at < :end GROUP BY patient_id, slot"
)


async def slot_means(
    *,
    session: AsyncSession,
    patient_ids: Sequence[UUID],
    series: Series,
    start: datetime,
    width: timedelta,
    slots: int,
) -> dict[UUID, list[float | None]]:
    """Per patient, the mean of ``series`` in each of ``slots`` equal slots from ``start`` (None: no data)."""
    seconds = width.total_seconds()
    result = await session.execute(
        _SPARK,
        {
            "patient_ids": list(patient_ids),
            "series": int(series),
            "start": start,
            "end": start + width * slots,
            "width": seconds,
        },
    )
    found: dict[UUID, list[float | None]] = {}
    for patient_id, slot, mean in result:
        found.setdefault(patient_id, [None] * slots)[int(slot)] = round(float(mean), 2)
    return found


_LATEST = text(
    "SELECT u.device_id, u.series, r.value, r.measured_at "
    "FROM unnest(CAST(:devices AS uuid[]), CAST(:series AS smallint[])) AS u(device_id, series) "
    "CROSS JOIN LATERAL (SELECT value, measured_at FROM readings "
    "WHERE device_id = u.device_id AND series = u.series AND measured_at >= :since "
    "ORDER BY measured_at DESC LIMIT 1) AS r"
)


@dataclass(frozen=True, slots=True)
class LatestReading:
    device_id: UUID
    series: Series
    value: float
    measured_at: datetime


async def latest_readings(
    *, session: AsyncSession, wanted: Sequence[tuple[UUID, Series]], since: datetime
) -> list[LatestReading]:
    """The newest reading since ``since`` of each (device, series) asked for that has one."""
    if not wanted:
        return []
    result = await session.execute(
        _LATEST,
        {"devices": [d for d, _ in wanted], "series": [int(s) for _, s in wanted], "since": since},
    )
    return [LatestReading(d, Series(s), v, at) for d, s, v, at in result]
