"""Detector state survives a restart: engine snapshots, and checkpoints through the real PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from uuid import UUID, uuid4

import msgspec

from monitoring.catalogue import Series
from monitoring.detection.checkpoints import Checkpointer
from monitoring.detection.detectors.personal.models import PersonalModels, _Level, _Patient
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.lineup import default_detectors
from monitoring.registry.careplans import CarePlan, default_thresholds
from monitoring.storage.db import Database
from tests.factories import enrol
from tests.monitoring.detection.test_contract import CONDITIONS, PATIENT, STREAM

HALF = len(STREAM) // 2


def engine_for(patient_id: UUID = PATIENT) -> DetectionEngine:
    engine = DetectionEngine(default_detectors())
    engine.set_care_plan(patient_id, CarePlan(CONDITIONS, tuple(default_thresholds(CONDITIONS).values())))
    return engine


def models(engine: DetectionEngine) -> PersonalModels:
    return next(d for d in engine.detectors if isinstance(d, PersonalModels))


def feed(engine: DetectionEngine, observations: list[Observation]) -> list[Finding]:
    found: list[Finding] = []
    for obs in observations:
        found.extend(engine.observe(obs))
    return found


def test_a_restored_engine_is_not_back_in_warm_up_and_continues_identically() -> None:
    running, restarted = engine_for(), engine_for()
    feed(running, STREAM[:HALF])
    assert models(running).last_score(PATIENT, Series.HEART_RATE) > 0, "warm after 2.5 days"
    restarted.restore(PATIENT, json.loads(json.dumps(running.snapshot(PATIENT))))
    assert feed(restarted, STREAM[HALF:]) == feed(running, STREAM[HALF:])
    assert models(restarted).last_score(PATIENT, Series.HEART_RATE) > 0


def test_a_fresh_engine_without_the_checkpoint_is_in_warm_up() -> None:
    cold = engine_for()
    feed(cold, STREAM[HALF : HALF + 100])
    assert models(cold).last_score(PATIENT, Series.HEART_RATE) == 0.0
    assert not models(cold).warm(PATIENT, Series.HEART_RATE)


def test_readings_already_evaluated_before_the_checkpoint_are_skipped_on_replay() -> None:
    running = engine_for()
    feed(running, STREAM[:HALF])
    restarted = engine_for()
    restarted.restore(PATIENT, running.snapshot(PATIENT))
    assert feed(restarted, STREAM[HALF - 50 : HALF]) == []
    assert restarted.out_of_order == 50


async def test_checkpoints_round_trip_through_postgresql(database: Database) -> None:
    patient = await enrol(database, conditions=list(CONDITIONS))
    stream = [msgspec.structs.replace(obs, patient_id=patient.patient_id) for obs in STREAM]
    running = engine_for(patient.patient_id)
    feed(running, stream[:HALF])
    assert await Checkpointer(running, database).save() == 1
    assert await Checkpointer(running, database).save() == 0, "only changed state is saved"
    restarted = engine_for(patient.patient_id)
    assert await Checkpointer(restarted, database).restore() == 1
    assert models(restarted).warm(patient.patient_id, Series.HEART_RATE)
    assert feed(restarted, stream[HALF:]) == feed(running, stream[HALF:])


async def test_the_state_of_a_patient_not_enrolled_is_left_out_and_the_others_are_saved(
    database: Database,
) -> None:
    """One stray state (a patient the database does not know) must not fail every checkpoint."""
    patient = await enrol(database, conditions=list(CONDITIONS))
    stray = uuid4()
    engine = engine_for(patient.patient_id)
    engine.set_care_plan(stray, CarePlan(CONDITIONS, tuple(default_thresholds(CONDITIONS).values())))
    feed(engine, [msgspec.structs.replace(obs, patient_id=patient.patient_id) for obs in STREAM[:HALF]])
    feed(engine, [msgspec.structs.replace(obs, patient_id=stray) for obs in STREAM[:HALF]])
    assert set(engine.patients()) == {patient.patient_id, stray}
    assert await Checkpointer(engine, database).save(everyone=True) == 1
    restarted = engine_for(patient.patient_id)
    assert (
        await Checkpointer(restarted, database).restore(owns=lambda p: p in {patient.patient_id, stray}) == 1
    )
    assert models(restarted).warm(patient.patient_id, Series.HEART_RATE)


def test_the_trend_score_adds_up_exactly_what_its_explanation_lists() -> None:
    """Every reading scores the trend from contributions alone; an alert's drivers are worked out
    separately. Over random levels, freshness and an open febrile pattern, both hold the same values."""
    models, rng = PersonalModels(), random.Random(5)
    now = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
    every = list(Series)
    compared = 0
    for _ in range(2000):
        state = _Patient()
        for series in rng.sample(every, rng.randint(0, len(every))):
            state.levels[series] = _Level(rng.uniform(-12, 12), now - rng.uniform(0, 48 * 3600), 0.0)
        if rng.random() < 0.3:
            state.fever.active_since = datetime(2026, 3, 1, tzinfo=UTC)
        listed = [contribution for _, _, contribution in models._contributions(state, now)]
        assert sorted(models._scores(state, now)) == sorted(listed)
        compared += bool(listed)
    assert compared > 300, "most random states have some input pulling away"
