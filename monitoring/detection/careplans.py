"""Keeps the detection engine's copy of patients' care plans fresh."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from monitoring.detection.engine import DetectionEngine
from monitoring.registry import repository
from monitoring.registry.careplans import CarePlan
from monitoring.storage.db import Database

_NO_PLAN = CarePlan(frozenset(), ())


async def refresh_care_plans(engine: DetectionEngine, db: Database, patient_ids: Collection[UUID]) -> None:
    """Load the care plans the engine lacks or has held too long, in one round trip."""
    stale = engine.stale_contexts(patient_ids)
    if not stale:
        return
    async with db.sessions() as session:
        plans = await repository.care_plans(session=session, patient_ids=stale)
    for patient_id in stale:
        engine.set_care_plan(patient_id, plans.get(patient_id, _NO_PLAN))
