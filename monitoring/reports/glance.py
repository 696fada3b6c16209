"""A patient at a glance: time in ranges, days with readings and a sparkline of the key series.

These take a scan of weeks of readings, so the panel does not compute them per request: a job
(``refresh``) stores them for every active patient every few minutes, and triage computes them
for one team at a time with the same ``compute``.

The key series is what the patient's conditions make the first thing to look at, among what
their devices measure: glucose for diabetes (CGM before meter), weight for heart failure,
systolic pressure for hypertension, SpO2 for COPD, heart rate for atrial fibrillation.

>>> key_series({"heart_failure", "type2_diabetes"}, {"scale", "glucometer"}).key
'glucose_meter'
>>> key_series({"hypertension"}, {"wearable"}).key
'heart_rate'
>>> key_series(set(), set()) is None
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, time, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from devices.kinds import KINDS, DeviceKind
from monitoring.catalogue import SERIES_OF_METRIC, Series
from monitoring.domain import time_zone
from monitoring.readings import repository as readings
from monitoring.readings.repository import GlucoseCounts
from monitoring.registry import repository as registry
from monitoring.reports import glance_repository
from monitoring.reports.records import Glance
from monitoring.reports.triage import ADHERENCE_OF
from monitoring.storage.models import Patient

PERIOD = timedelta(days=14)  # time in ranges: the last 14 days against the 14 before
SPARK_SLOTS, SPARK_WIDTH = 28, timedelta(hours=6)  # the last 7 days in quarter days

_KEY_SERIES: tuple[tuple[str, Series], ...] = (
    ("type1_diabetes", Series.GLUCOSE_CGM),
    ("type2_diabetes", Series.GLUCOSE_CGM),
    ("type1_diabetes", Series.GLUCOSE_METER),
    ("type2_diabetes", Series.GLUCOSE_METER),
    ("heart_failure", Series.BODY_WEIGHT),
    ("hypertension", Series.BP_SYSTOLIC),
    ("copd", Series.SPO2),
    ("atrial_fibrillation", Series.HEART_RATE),
)
_FALLBACK = (Series.HEART_RATE, Series.BP_SYSTOLIC, Series.BODY_WEIGHT, Series.GLUCOSE_CGM, Series.SPO2)


def measured_by(kinds: Collection[str], *, daily: bool = True) -> set[Series]:
    """Every series devices of these kinds report (with their daily totals unless told)."""
    return {
        series
        for kind in kinds
        for metric, _ in (*KINDS[DeviceKind(kind)].metrics, *(KINDS[DeviceKind(kind)].daily if daily else ()))
        for series in SERIES_OF_METRIC[metric]
    }


def key_series(conditions: Collection[str], kinds: Collection[str]) -> Series | None:
    """The first series to look at for a patient with these conditions and device kinds."""
    measured = measured_by(kinds)
    for condition, series in _KEY_SERIES:
        if condition in conditions and series in measured:
            return series
    return next((s for s in _FALLBACK if s in measured), None)


def first_judged_day(now: datetime, zone: str) -> datetime:
    """The local midnight that starts the last 30 dates in the zone, today included (the dates
    triage counts days with readings out of)."""
    where = time_zone(zone)
    first = now.astimezone(where).date() - timedelta(days=ADHERENCE_OF - 1)
    return datetime.combine(first, time(), tzinfo=where)


def _percent(part: int, counts: GlucoseCounts | None) -> float | None:
    return None if counts is None or not counts.readings else round(100 * part / counts.readings, 1)


async def compute(*, session: AsyncSession, patients: Sequence[Patient], now: datetime) -> dict[UUID, Glance]:
    """The glance of each patient as of ``now``."""
    ids = [p.id for p in patients]
    glances = {p.id: Glance() for p in patients}
    if not ids:
        return glances
    counts = await readings.glucose_counts(
        session=session, patient_ids=ids, series=Series.GLUCOSE_CGM, split=now - PERIOD, span=PERIOD
    )
    for patient_id, glance in glances.items():
        recent, before = counts.get((patient_id, True)), counts.get((patient_id, False))
        if recent is not None:
            glance.time_below_70 = _percent(recent.below_70, recent)
            glance.time_below_54 = _percent(recent.below_54, recent)
            glance.time_in_range = _percent(recent.in_range, recent)
            glance.time_above_250 = _percent(recent.above_250, recent)
        if before is not None:
            glance.previous_time_in_range = _percent(before.in_range, before)
    by_zone: dict[str, list[UUID]] = defaultdict(list)
    for p in patients:
        by_zone[p.time_zone].append(p.id)
    for zone, members in by_zone.items():
        days = await readings.days_with_readings(
            session=session,
            patient_ids=members,
            start=first_judged_day(now, zone),
            end=now,
            zone=zone,
            from_enrolment=True,
        )
        for patient_id, n in days.items():
            glances[patient_id].adherence_days = n
    await _sparks(session, patients, glances, now)
    return glances


async def _sparks(
    session: AsyncSession, patients: Sequence[Patient], glances: dict[UUID, Glance], now: datetime
) -> None:
    kinds: dict[UUID, set[str]] = defaultdict(set)
    for device in await registry.active_devices_of(session=session, patient_ids=list(glances)):
        if device.patient_id is not None:
            kinds[device.patient_id].add(device.kind)
    by_series: dict[Series, list[UUID]] = defaultdict(list)
    for p in patients:
        series = key_series(p.conditions, kinds[p.id])
        glances[p.id].spark_series = series
        if series is not None:
            by_series[series].append(p.id)
    start = now - SPARK_WIDTH * SPARK_SLOTS
    for series, members in by_series.items():
        means = await readings.slot_means(
            session=session,
            patient_ids=members,
            series=series,
            start=start,
            width=SPARK_WIDTH,
            slots=SPARK_SLOTS,
        )
        for patient_id in members:
            glances[patient_id].spark = means.get(patient_id)


async def refresh(*, session: AsyncSession, now: datetime, chunk: int = 250) -> int:
    """Compute and store the glance of every active patient; how many were refreshed."""
    ids = list(await glance_repository.active_patient_ids(session=session))
    for first in range(0, len(ids), chunk):
        patients = await registry.patients_by_id(session=session, patient_ids=ids[first : first + chunk])
        await glance_repository.store(
            session=session, glances=await compute(session=session, patients=patients, now=now), at=now
        )
    return len(ids)
