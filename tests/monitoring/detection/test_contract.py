"""The contract every detector keeps, run against each implementation on one shared stream.

- it raises findings on a stream built to contain what it looks for (so no test passes vacuously);
- no look-ahead: what it says about a reading depends only on readings up to it (score before learn);
- determinism: the same readings give the same findings;
- state round trip: snapshot (through JSON) and restore mid-stream changes nothing;
- every finding explains itself: one sentence plus detector, rule, observed, threshold, baseline, window.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import math
import pkgutil
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from monitoring.api.schemas.alerts import ExplanationOut
from monitoring.catalogue import Series
from monitoring.detection import detectors
from monitoring.detection.base import EVERYONE, Detector, PatientContext
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.explain import Explanation
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.lineup import default_detectors
from monitoring.domain import Condition
from monitoring.registry.careplans import CarePlan, default_thresholds
from tests.monitoring.detection.support import naive_forecast

T0 = datetime(2026, 3, 2, tzinfo=UTC)
PATIENT = UUID(int=1)
WEARABLE, CUFF, CGM, SCALE, THERMOMETER = (UUID(int=i) for i in range(10, 15))
CONDITIONS = frozenset({Condition.HEART_FAILURE, Condition.TYPE1_DIABETES, Condition.ATRIAL_FIBRILLATION})
DAYS = 5


def _minute(rng: random.Random, day: int, minute: int) -> Iterator[Observation]:
    at = T0 + timedelta(days=day, minutes=minute)
    hour = minute / 60
    circadian = math.cos(2 * math.pi * (hour - 16) / 24)
    hr, spo2, rr = 72 + 3 * circadian, 97.0, 15.0
    if day == 2 and 10 * 60 <= minute < 12 * 60:  # rapid irregular rate
        hr = 132 + rng.gauss(0, 16)
    if day == 2 and 20 * 60 <= minute < 22 * 60:  # bradycardia
        hr = 36
    if day >= 3 and minute >= 0:  # a slow deterioration over the last two days
        ramp = min(1.0, ((day - 3) * 1440 + minute) / 1440)
        hr, rr, spo2 = hr + 14 * ramp, rr + 6 * ramp, spo2 - 5 * ramp
    hr_noise = 0 if day == 2 and 10 * 60 <= minute < 12 * 60 else rng.gauss(0, 2)
    yield Observation(PATIENT, Series.HEART_RATE, at, round(hr + hr_noise), WEARABLE, sqi=0.95)
    yield Observation(PATIENT, Series.SPO2, at, min(100, round(spo2 + rng.gauss(0, 0.6))), WEARABLE, sqi=0.95)
    yield Observation(PATIENT, Series.RESPIRATORY_RATE, at, round(rr + rng.gauss(0, 1)), WEARABLE, sqi=0.95)


def _glucose(rng: random.Random, day: int, minute: int) -> float:
    if day == 1 and 3 * 60 <= minute < 5 * 60:  # a low, falling ~3 mg/dL a minute
        t = minute - 3 * 60
        return max(48.0, 140 - 3 * t) if t < 80 else min(140.0, 48 + 3 * (t - 80))
    if day == 1 and 12 * 60 <= minute < 16 * 60:
        return 310.0
    return 140.0


def stream() -> list[Observation]:
    rng = random.Random(4)
    found: list[Observation] = []
    for day in range(DAYS):
        for minute in range(1440):
            found.extend(_minute(rng, day, minute))
            if minute % 5 == 0:
                value = _glucose(rng, day, minute) * (1 + rng.gauss(0, 0.02))
                found.append(
                    Observation(
                        PATIENT,
                        Series.GLUCOSE_CGM,
                        T0 + timedelta(days=day, minutes=minute),
                        round(value),
                        CGM,
                    )
                )
        crisis = day == 2
        for k, hour in enumerate((7.5, 9.0, 9.33, 20.0)):
            if hour in (9.0, 9.33) and not crisis:
                continue
            at = T0 + timedelta(days=day, hours=hour, seconds=k)
            systolic, diastolic = (
                (205, 124) if crisis and hour in (9.0, 9.33) else (128 + rng.gauss(0, 4), 80)
            )
            found.append(Observation(PATIENT, Series.BP_SYSTOLIC, at, round(systolic), CUFF))
            found.append(Observation(PATIENT, Series.BP_DIASTOLIC, at, round(diastolic), CUFF))
        weight = 80 + rng.gauss(0, 0.2) + (0.0 if day < 3 else 1.4 * (day - 2))
        found.append(
            Observation(
                PATIENT, Series.BODY_WEIGHT, T0 + timedelta(days=day, hours=7), round(weight, 1), SCALE
            )
        )
        for hour in (7.6, 20.5):
            temperature = 38.6 if day == 4 else 36.8
            found.append(
                Observation(
                    PATIENT,
                    Series.BODY_TEMPERATURE,
                    T0 + timedelta(days=day, hours=hour),
                    temperature,
                    THERMOMETER,
                )
            )
    found.sort(key=lambda o: o.at)
    return found


STREAM = stream()


def context() -> PatientContext:
    return PatientContext(PATIENT, CONDITIONS, dict(default_thresholds(CONDITIONS)))


def run(
    detector: Detector, observations: list[Observation], ctx: PatientContext | None = None
) -> list[Finding]:
    ctx = ctx or context()
    found: list[Finding] = []
    for obs in observations:
        found.extend(detector.observe(obs, ctx))
    return found


FACTORIES: list[Callable[[], Detector]] = [
    *(type(d) for d in default_detectors()),
    naive_forecast,
]


def test_the_suite_runs_every_detector_of_the_detectors_package() -> None:
    """A detector module added to ``detection.detectors`` is in this suite without anyone adding it."""
    found = set()
    for module in pkgutil.walk_packages(detectors.__path__, f"{detectors.__name__}."):
        for _, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            streaming = all(hasattr(cls, m) for m in ("observe", "forget", "snapshot", "restore"))
            if streaming and cls.__module__ == module.name:
                found.add(cls)
    assert found, "no detector found"
    assert found <= {type(f()) for f in FACTORIES}


@pytest.fixture(params=FACTORIES, ids=lambda f: getattr(f, "__name__", str(f)))
def make(request: pytest.FixtureRequest) -> Callable[[], Detector]:
    factory: Callable[[], Detector] = request.param
    return factory


@pytest.fixture(scope="module")
def full_runs() -> dict[str, list[Finding]]:
    return {getattr(f, "__name__", str(f)): run(f(), STREAM) for f in FACTORIES}


def _full(full_runs: dict[str, list[Finding]], make: Callable[[], Detector]) -> list[Finding]:
    return full_runs[getattr(make, "__name__", str(make))]


def test_it_finds_what_the_stream_holds(
    make: Callable[[], Detector], full_runs: dict[str, list[Finding]]
) -> None:
    assert _full(full_runs, make), f"{make} raised nothing on a stream built to contain its events"


def test_no_look_ahead(make: Callable[[], Detector], full_runs: dict[str, list[Finding]]) -> None:
    full = _full(full_runs, make)
    for fraction in (0.3, 0.55, 0.8):
        cut = int(len(STREAM) * fraction)
        prefix = run(make(), STREAM[:cut])
        assert prefix == [f for f in full if f.at <= STREAM[cut - 1].at]


def test_deterministic(make: Callable[[], Detector], full_runs: dict[str, list[Finding]]) -> None:
    assert run(make(), STREAM) == _full(full_runs, make)


def test_state_round_trip_through_json(
    make: Callable[[], Detector], full_runs: dict[str, list[Finding]]
) -> None:
    full = _full(full_runs, make)
    cut = int(len(STREAM) * 0.6)
    first, ctx = make(), context()
    before = run(first, STREAM[:cut], ctx)
    saved = first.snapshot(PATIENT)
    second = make()
    if saved is not None:
        second.restore(PATIENT, json.loads(json.dumps(saved)))
    after = run(second, STREAM[cut:], ctx)
    assert before + after == full


def test_every_finding_explains_itself(
    make: Callable[[], Detector], full_runs: dict[str, list[Finding]]
) -> None:
    for finding in _full(full_runs, make):
        assert finding.summary.endswith(".")
        assert len(finding.summary) > 30
        explanation = finding.explanation
        assert explanation["detector"] == finding.detector
        for key in ("rule", "observed", "threshold", "baseline", "window"):
            assert key in explanation, (finding.alert_type, key)
        json.dumps(explanation)  # stored as JSONB


def test_forget_drops_state(make: Callable[[], Detector]) -> None:
    detector = make()
    run(detector, STREAM[:5000])
    detector.forget(PATIENT)
    assert detector.snapshot(PATIENT) is None


class _SeesEverything:
    """A detector with its ``series`` hidden: the engine then calls it for every reading."""

    def __init__(self, inner: Detector) -> None:
        self.inner, self.name = inner, inner.name
        self.scope = getattr(inner, "scope", EVERYONE)

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        return self.inner.observe(observation, context)

    def forget(self, patient_id: UUID) -> None:
        self.inner.forget(patient_id)

    def snapshot(self, patient_id: UUID) -> dict[str, Any] | None:
        return self.inner.snapshot(patient_id)

    def restore(self, patient_id: UUID, state: dict[str, Any]) -> None:
        self.inner.restore(patient_id, state)


def test_routing_readings_by_series_changes_no_finding() -> None:
    """The engine calls a detector only for the series it declares; that must be an optimisation only."""

    def findings(detectors: Sequence[Detector]) -> list[tuple[str, str, datetime]]:
        engine = DetectionEngine(detectors)
        engine.set_care_plan(PATIENT, CarePlan(CONDITIONS, tuple(default_thresholds(CONDITIONS).values())))
        return [(f.alert_type, f.kind.value, f.at) for obs in STREAM for f in engine.observe(obs)]

    routed = DetectionEngine(default_detectors())
    assert "cgm_consensus" not in {d.name for d, _ in routed._route(Series.HEART_RATE)}
    assert {d.name for d, _ in routed._route(Series.GLUCOSE_CGM)} >= {"cgm_consensus", "care_plan_threshold"}
    expected = findings([_SeesEverything(d) for d in default_detectors()])
    assert len(expected) > 10
    assert findings(default_detectors()) == expected


def test_the_api_explanation_schema_follows_the_typed_record() -> None:
    record = {f.name for f in dataclasses.fields(Explanation)} - {"details"}
    added_by_the_engine = {"detector", "window", "late"}
    assert set(ExplanationOut.model_fields) == record | added_by_the_engine
