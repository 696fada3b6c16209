"""FHIR search over stored readings: ``Observation?patient&code&date&_count`` and ``$lastn``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.errors import InvalidRequestError
from monitoring.fhir import repository as fhir_repository
from monitoring.fhir import resources
from monitoring.fhir.repository import ReadingRow

Kind = Series | str  # a series, or "bp" for the blood-pressure panel
ALL_KINDS: tuple[Kind, ...] = (
    *(s for s in Series if s not in (Series.BP_SYSTOLIC, Series.BP_DIASTOLIC)),
    "bp",
)
DEFAULT_WINDOW = timedelta(days=92)


def kinds_for(codes: Sequence[str]) -> list[Kind]:
    """The series a ``code`` parameter asks for (``system|code`` or bare code, comma = or)."""
    if not codes:
        return list(ALL_KINDS)
    wanted: list[Kind] = []
    for token in (c for value in codes for c in value.split(",")):
        system, _, code = token.rpartition("|")
        if system not in ("", resources.LOINC):
            continue
        if code == resources.BP_PANEL:
            wanted.append("bp")
        wanted.extend(s for s in Series if code in (s.info.loinc, *_extra_codes(s)) and s not in wanted)
    return wanted


def _extra_codes(series: Series) -> tuple[str, ...]:
    return (resources.SPO2_PROFILE_CODE,) if series is Series.SPO2 else ()


def date_range(values: Sequence[str], now: datetime) -> tuple[datetime, datetime]:
    """[start, end) from FHIR ``date`` parameters with ge/gt/le/lt prefixes (default: last 92 days)."""
    start: datetime | None = None
    end: datetime | None = None
    for value in values:
        prefix, raw = value[:2], value[2:]
        if prefix not in ("ge", "gt", "le", "lt"):
            raise InvalidRequestError(
                f"date {value!r}: use a ge, gt, le or lt prefix, e.g. date=ge2026-11-01"
            )
        try:
            at = datetime.fromisoformat(raw)
        except ValueError as error:
            raise InvalidRequestError(f"date {value!r} is not an ISO 8601 date or time") from error
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if prefix in ("ge", "gt"):
            start = at + (timedelta(microseconds=1) if prefix == "gt" else timedelta(0))
        else:
            end = at + (timedelta(microseconds=1) if prefix == "le" else timedelta(0))
    end = end or now
    return start or end - DEFAULT_WINDOW, end


async def newest_of_each(
    *,
    session: AsyncSession,
    patient_id: UUID,
    kinds: Sequence[Kind],
    start: datetime,
    end: datetime,
    per_kind: int,
) -> list[dict[str, Any]]:
    """``$lastn``: at most ``per_kind`` of each kind, newest first, read as the search reads them."""
    series, panels = series_for(kinds)
    rows: list[ReadingRow] = []
    for one in series:
        found = await fhir_repository.readings_page(
            session=session,
            patient_id=patient_id,
            series=[one],
            panels=panels,
            start=start,
            end=end,
            cursor=None,
            limit=per_kind,
        )
        rows += found.rows
    rows.sort(key=lambda r: (r.measured_at, r.series, r.device_id), reverse=True)
    return [resource_of(row, panels) for row in rows]


def series_for(kinds: Sequence[Kind]) -> tuple[list[Series], bool]:
    """The stored series a search reads, and whether systolic rows stand for the blood-pressure
    panel (a search for the panel and systolic alone returns the panel once)."""
    panels = "bp" in kinds
    wanted = {Series.BP_SYSTOLIC} if panels else set()
    wanted.update(k for k in kinds if isinstance(k, Series))
    return sorted(wanted), panels


def resource_of(row: ReadingRow, panels: bool) -> dict[str, Any]:
    """A stored reading as its Observation; a systolic row with its diastolic as the panel."""
    series = Series(row.series)
    if panels and series is Series.BP_SYSTOLIC and row.diastolic is not None:
        return resources.blood_pressure(
            row.patient_id, row.device_id, row.measured_at, row.value, row.diastolic
        )
    return resources.observation(row.patient_id, row.device_id, series, row.measured_at, row.value)
