"""What the FHIR API reads, paged by key (see ``fhir.paging``): readings, patients, devices and
alerts, each search on the caller's scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Double,
    and_,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from monitoring.catalogue import Series
from monitoring.fhir.paging import Cursor, Found
from monitoring.storage.models import Alert, Device, Patient, Reading, Site

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReadingRow:
    measured_at: datetime
    series: int
    device_id: UUID
    value: float
    diastolic: float | None  # of a blood-pressure panel (its systolic row)
    patient_id: UUID


def _downwards(cursor: Cursor | None, descending: bool) -> bool:
    """Whether this page reads the search's order downwards (the rows before a cursor read it back)."""
    return descending == (cursor is None or cursor.forward)


def _beyond(columns: Sequence[Any], cursor: Cursor | None, down: bool) -> list[ColumnElement[bool]]:
    if cursor is None:
        return []
    row = tuple_(*columns)
    key = tuple_(*(literal(k, type_=c.type) for k, c in zip(cursor.key, columns, strict=True)))
    return [row < key if down else row > key]


def _ordered(columns: Sequence[Any], down: bool) -> list[Any]:
    return [c.desc() if down else c.asc() for c in columns]


def _found(rows: list[T], cursor: Cursor | None, limit: int) -> Found[T]:
    more = len(rows) > limit
    rows = rows[:limit]
    if cursor is not None and not cursor.forward:
        return Found(rows[::-1], more_before=more, more_after=True)
    return Found(rows, more_before=cursor is not None, more_after=more)


async def _page(
    session: AsyncSession,
    statement: Any,  # a Select of any row shape
    columns: Sequence[Any],
    cursor: Cursor | None,
    limit: int,
    *,
    descending: bool,
) -> Found[Any]:
    down = _downwards(cursor, descending)
    rows = await session.execute(
        statement.where(*_beyond(columns, cursor, down)).order_by(*_ordered(columns, down)).limit(limit + 1)
    )
    return _found(list(rows.all()), cursor, limit)


def _readings_where(patient_id: UUID, series: Sequence[Series], start: datetime, end: datetime) -> list[Any]:
    return [
        Reading.patient_id == patient_id,
        Reading.series.in_([int(s) for s in series]),
        Reading.measured_at >= start,
        Reading.measured_at < end,
    ]


def diastolic_of_row() -> ColumnElement[Any]:
    """The diastolic stored with the outer query's (systolic) reading: same device, same time."""
    other = aliased(Reading)
    return (
        select(other.value)
        .where(
            other.device_id == Reading.device_id,
            other.series == int(Series.BP_DIASTOLIC),
            other.measured_at == Reading.measured_at,
        )
        .scalar_subquery()
    )


def reading_row_columns() -> tuple[Any, ...]:
    """The columns of a ``ReadingRow``, a systolic reading's diastolic beside it."""
    return (
        Reading.measured_at,
        Reading.series,
        Reading.device_id,
        Reading.value,
        diastolic_of_row(),
        Reading.patient_id,
    )


async def readings_page(
    *,
    session: AsyncSession,
    patient_id: UUID,
    series: Sequence[Series],
    panels: bool,
    start: datetime,
    end: datetime,
    cursor: Cursor | None,
    limit: int,
) -> Found[ReadingRow]:
    """Readings of these series newest first (by time, series, device). With ``panels``, a
    systolic row carries its diastolic. One index range per series, merged, so a page costs
    its own rows, not the window's."""
    key = (Reading.measured_at, Reading.series, Reading.device_id)
    down = _downwards(cursor, descending=True)
    parts = []
    for one in series:
        paired = panels and one is Series.BP_SYSTOLIC
        diastolic = diastolic_of_row() if paired else cast(null(), Double)
        part = (
            select(*key, Reading.value, diastolic.label("diastolic"), Reading.patient_id)
            .where(*_readings_where(patient_id, [one], start, end), *_beyond(key, cursor, down))
            .order_by(*_ordered(key, down))
            .limit(limit + 1)
            .subquery()
        )
        parts.append(select(part))
    if not parts:
        return Found([], False, False)
    merged = union_all(*parts).subquery()
    c = merged.c
    rows = await session.execute(
        select(merged).order_by(*_ordered((c.measured_at, c.series, c.device_id), down)).limit(limit + 1)
    )
    return _found([ReadingRow(*row) for row in rows], cursor, limit)


async def count_readings(
    *, session: AsyncSession, patient_id: UUID, series: Sequence[Series], start: datetime, end: datetime
) -> int:
    if not series:
        return 0
    found = await session.scalar(
        select(func.count()).select_from(Reading).where(*_readings_where(patient_id, series, start, end))
    )
    return int(found or 0)


async def reading(
    *, session: AsyncSession, device_id: UUID, series: Series, measured_at: datetime
) -> ReadingRow | None:
    """One stored reading by its identity; a systolic one with its diastolic."""
    row = (
        await session.execute(
            select(*reading_row_columns()).where(
                Reading.device_id == device_id,
                Reading.series == int(series),
                Reading.measured_at == measured_at,
            )
        )
    ).first()
    return None if row is None else ReadingRow(*row)


async def _count(session: AsyncSession, statement: Any, counted: bool) -> int | None:
    """How many rows ``statement`` (a ``count()`` select) finds, when the caller wants it."""
    return int(await session.scalar(statement) or 0) if counted else None


async def patients_page(
    *,
    session: AsyncSession,
    scope: ColumnElement[bool],
    filters: Sequence[ColumnElement[bool]],
    cursor: Cursor | None,
    limit: int,
    counted: bool = True,
) -> tuple[Found[tuple[Patient, str]], int | None]:
    """Patients in scope that match, each with their site's code, by id; and how many match."""
    where = [scope, *filters]
    statement = select(Patient, Site.code).join(Site, Site.id == Patient.site_id).where(*where)
    found = await _page(session, statement, [Patient.id], cursor, limit, descending=False)
    total = await _count(session, select(func.count()).select_from(Patient).where(*where), counted)
    rows = [(patient, code) for patient, code in found.rows]
    return Found(rows, found.more_before, found.more_after), total


async def patient_with_site(*, session: AsyncSession, patient_id: UUID) -> tuple[Patient, str] | None:
    row = (
        await session.execute(
            select(Patient, Site.code).join(Site, Site.id == Patient.site_id).where(Patient.id == patient_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


def patient_filters(
    *, ids: Sequence[UUID], mrns: Sequence[tuple[str | None, str]], name: str | None
) -> list[ColumnElement[bool]]:
    """Patient search parameters as conditions: ``_id``; ``identifier`` as (site code or None for
    any site, MRN), any of them; ``name``, a part of it."""
    found: list[ColumnElement[bool]] = []
    if ids:
        found.append(Patient.id.in_(list(ids)))
    if mrns:
        site_of = select(Site.id)
        found.append(
            or_(
                *(
                    and_(
                        Patient.mrn == mrn,
                        true() if code is None else Patient.site_id.in_(site_of.where(Site.code == code)),
                    )
                    for code, mrn in mrns
                )
            )
        )
    if name:
        found.append(func.lower(Patient.display_name).contains(name.casefold(), autoescape=True))
    return found


async def devices_page(
    *,
    session: AsyncSession,
    scope: ColumnElement[bool],
    filters: Sequence[ColumnElement[bool]],
    cursor: Cursor | None,
    limit: int,
    counted: bool = True,
) -> tuple[Found[Device], int | None]:
    """Devices assigned to patients in scope that match, by id, and how many match."""
    where = [scope, *filters]
    statement = select(Device).join(Patient, Patient.id == Device.patient_id).where(*where)
    found = await _page(session, statement, [Device.id], cursor, limit, descending=False)
    every = select(func.count()).select_from(Device).join(Patient, Patient.id == Device.patient_id)
    total = await _count(session, every.where(*where), counted)
    return Found([row[0] for row in found.rows], found.more_before, found.more_after), total


def device_filters(*, patient_ids: Sequence[UUID], serials: Sequence[str]) -> list[ColumnElement[bool]]:
    """Device search parameters as conditions: ``patient``, ``identifier`` (the serial)."""
    found: list[ColumnElement[bool]] = []
    if patient_ids:
        found.append(Device.patient_id.in_(list(patient_ids)))
    if serials:
        found.append(Device.serial.in_(list(serials)))
    return found


async def flags_page(
    *, session: AsyncSession, patient_id: UUID, cursor: Cursor | None, limit: int, counted: bool = True
) -> tuple[Found[Alert], int | None]:
    """A patient's alerts newest first, and how many there are."""
    statement = select(Alert).where(Alert.patient_id == patient_id)
    found = await _page(session, statement, [Alert.opened_at, Alert.id], cursor, limit, descending=True)
    every = select(func.count()).select_from(Alert).where(Alert.patient_id == patient_id)
    total = await _count(session, every, counted)
    return Found([row[0] for row in found.rows], found.more_before, found.more_after), total


async def alert(*, session: AsyncSession, alert_id: UUID) -> Alert | None:
    return await session.get(Alert, alert_id)
