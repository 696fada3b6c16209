"""The stored patient glance: written by the panel job, read by the panel."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.catalogue import Series
from monitoring.domain import PatientState
from monitoring.reports.records import Glance
from monitoring.storage.models import Patient, PatientGlance


async def store(*, session: AsyncSession, glances: dict[UUID, Glance], at: datetime) -> None:
    """Insert or replace the glance of each patient."""
    if not glances:
        return
    rows = [
        {
            "patient_id": patient_id,
            "computed_at": at,
            "time_in_range": g.time_in_range,
            "time_below_70": g.time_below_70,
            "time_below_54": g.time_below_54,
            "time_above_250": g.time_above_250,
            "previous_time_in_range": g.previous_time_in_range,
            "adherence_days": g.adherence_days,
            "spark_series": None if g.spark_series is None else int(g.spark_series),
            "spark": g.spark,
        }
        for patient_id, g in glances.items()
    ]
    statement = insert(PatientGlance).values(rows)
    columns = {c: statement.excluded[c] for c in rows[0] if c != "patient_id"}
    await session.execute(statement.on_conflict_do_update(index_elements=["patient_id"], set_=columns))


async def load(*, session: AsyncSession, patient_ids: Collection[UUID]) -> dict[UUID, Glance]:
    """The stored glances of these patients that exist."""
    result = await session.execute(
        select(PatientGlance).where(PatientGlance.patient_id.in_(list(patient_ids)))
    )
    return {
        g.patient_id: Glance(
            time_in_range=g.time_in_range,
            time_below_70=g.time_below_70,
            time_below_54=g.time_below_54,
            time_above_250=g.time_above_250,
            previous_time_in_range=g.previous_time_in_range,
            adherence_days=g.adherence_days,
            spark_series=None if g.spark_series is None else Series(g.spark_series),
            spark=g.spark,
            computed_at=g.computed_at,
        )
        for g in result.scalars()
    }


async def active_patient_ids(*, session: AsyncSession) -> Sequence[UUID]:
    """Every active patient, in a stable order (the job works through them in chunks)."""
    result = await session.execute(
        select(Patient.id).where(Patient.status == PatientState.ACTIVE.value).order_by(Patient.id)
    )
    return result.scalars().all()
