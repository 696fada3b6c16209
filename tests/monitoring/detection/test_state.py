"""Detector state survives a restart: engine snapshots, and checkpoints through the real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec

from monitoring.catalogue import Series
from monitoring.detection.checkpoints import Checkpointer
from monitoring.detection.detectors.personal.models import PersonalModels
from monitoring.detection.detectors.personal.series import Level, new_model
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


# Departures worth 3 points of trend score (capped from 3.25), 2.0, 1.5 and 0.5.
DRIFT = {
    Series.HEART_RATE: 13.0,
    Series.RESPIRATORY_RATE: 3.0,
    Series.SPO2: -1.5,
    Series.SKIN_TEMPERATURE: 0.2,
}


def _drifting(models: PersonalModels, patient: UUID, at: datetime) -> None:
    state = models._states(patient)
    for series, departure in DRIFT.items():
        state.models.setdefault(series, new_model(series))
        state.levels[series] = Level(departure, at.timestamp(), departure)


def test_the_trend_alert_lists_what_its_score_adds_up_largest_first() -> None:
    """Heart rate, breathing rate and skin temperature up, SpO2 down, for over four hours: the alert's
    score is the sum of the contributions it lists, each capped, largest first."""
    models, patient, t0 = PersonalModels(), UUID(int=7), datetime(2026, 3, 2, 6, tzinfo=UTC)
    opened: list[Finding] = []
    for minutes in range(0, 5 * 60 + 1, 10):
        at = t0 + timedelta(minutes=minutes)
        _drifting(models, patient, at)
        obs = Observation(patient, Series.RESPIRATORY_RATE, at, 20.0, UUID(int=8))
        opened += models._deterioration(models._states(patient), obs, at.timestamp())
    assert len(opened) == 1
    alert = opened[0]
    listed = alert.explanation["drivers"]
    assert [(d["series"], d["contribution"]) for d in listed] == [
        ("heart_rate", 3.0),
        ("respiratory_rate", 2.0),
        ("spo2", 1.5),
        ("skin_temperature", 0.5),
    ]
    assert alert.explanation["score"] == 7.0 == sum(d["contribution"] for d in listed)
    assert "trend score 7" in alert.summary


def test_an_open_febrile_pattern_leaves_its_inputs_out_of_the_trend_score() -> None:
    """Fever explains heart rate and skin temperature: only breathing rate and SpO2 vote (3.5)."""
    models, patient, at = PersonalModels(), UUID(int=7), datetime(2026, 3, 2, 6, tzinfo=UTC)
    _drifting(models, patient, at)
    state = models._states(patient)
    obs = Observation(patient, Series.SPO2, at, 95.0, UUID(int=8))
    models._deterioration(state, obs, at.timestamp())
    assert state.trend_score == 7.0
    state.fever.active_since = at
    models._deterioration(state, obs, at.timestamp())
    assert state.trend_score == 3.5
