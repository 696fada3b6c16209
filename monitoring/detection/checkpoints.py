"""Detector state survives a restart: saved to PostgreSQL on a schedule and at shutdown, restored at start."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from uuid import UUID

from monitoring.detection import repository
from monitoring.detection.engine import DetectionEngine
from monitoring.storage.db import Database

log = logging.getLogger(__name__)

_CHUNK = 500  # patients per statement


class Checkpointer:
    def __init__(
        self,
        engine: DetectionEngine,
        database: Database,
        *,
        hold: Callable[[], bool] | None = None,
        watermark: Callable[[], datetime | None] | None = None,
        owns: Callable[[UUID], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.database = database
        # While ``hold()`` is true (findings not yet written as alerts) no state is saved: a
        # checkpoint past a finding that then dies with the process would lose its alert.
        self.hold = hold
        # When the oldest reading that may not be in the state arrived; the checkpoint is
        # stamped with it, and a restart replays what arrived since (pipeline.replay).
        self.watermark = watermark
        # With several workers, each restores only the patients it owns (ingest.partition).
        self.owns = owns

    async def save(self, *, everyone: bool = False) -> int:
        """Save the state of patients whose state changed (or of everyone); return how many."""
        if self.hold is not None and self.hold():
            log.info("checkpoint deferred: findings are waiting to be written")
            return 0
        return await self.save_patients(self.engine.patients() if everyone else self.engine.take_dirty())

    async def save_patients(self, which: Iterable[UUID]) -> int:
        """Save the state of these patients now (a hand-over: the caller has no findings unwritten)."""
        patients = sorted(which)
        saved = 0
        now = datetime.now(UTC)
        oldest = self.watermark() if self.watermark is not None else None
        if oldest is not None:
            now = min(now, oldest)
        for i in range(0, len(patients), _CHUNK):
            chunk = {p: self.engine.snapshot(p) for p in patients[i : i + _CHUNK]}
            async with self.database.unit_of_work() as session:
                saved += await repository.save_checkpoints(session=session, states=chunk, at=now)
        if saved:
            log.info("checkpointed detector state of %d patients", saved)
        if saved < len(patients):
            log.warning("detector state of %d patients not saved: not enrolled here", len(patients) - saved)
        return saved

    async def restore(self, owns: Callable[[UUID], bool] | None = None) -> int:
        """Load the saved state of the patients this worker owns (or of those ``owns`` names)."""
        async with self.database.sessions() as session:
            states = await repository.load_checkpoints(session=session)
        owns = owns or self.owns
        if owns is not None:
            states = {p: state for p, state in states.items() if owns(p)}
        for patient_id, state in states.items():
            self.engine.restore(patient_id, state)
        self.engine.take_dirty()
        log.info("restored detector state of %d patients", len(states))
        return len(states)
