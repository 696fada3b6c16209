"""Detector state survives a restart: saved to PostgreSQL on a schedule and at shutdown, restored at start."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from monitoring.detection import repository
from monitoring.detection.engine import DetectionEngine
from monitoring.storage.db import Database

log = logging.getLogger(__name__)

_CHUNK = 500  # patients per statement


class Checkpointer:
    def __init__(self, engine: DetectionEngine, database: Database) -> None:
        self.engine = engine
        self.database = database

    async def save(self, *, everyone: bool = False) -> int:
        """Save the state of patients whose state changed (or of everyone); return how many."""
        patients = sorted(self.engine.patients() if everyone else self.engine.take_dirty())
        saved = 0
        now = datetime.now(UTC)
        for i in range(0, len(patients), _CHUNK):
            chunk = {p: self.engine.snapshot(p) for p in patients[i : i + _CHUNK]}
            async with self.database.unit_of_work() as session:
                saved += await repository.save_checkpoints(session=session, states=chunk, at=now)
        if saved:
            log.info("checkpointed detector state of %d patients", saved)
        return saved

    async def restore(self) -> int:
        async with self.database.sessions() as session:
            states = await repository.load_checkpoints(session=session)
        for patient_id, state in states.items():
            self.engine.restore(patient_id, state)
        self.engine.take_dirty()
        log.info("restored detector state of %d patients", len(states))
        return len(states)
