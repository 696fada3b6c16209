import io
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.contract import ReadingsMessage, decode_readings
from devices.kinds import KINDS
from monitoring.catalogue import SERIES_OF_METRIC
from monitoring.ingest.standardise import standardise_reading
from simulators.cohort import build_cohort
from simulators.engine import Send, stream
from simulators.episodes import Effect, Episode, Signal
from simulators.profiles import CONDITIONS
from simulators.sinks import JsonlSink

START = datetime(2026, 10, 1, tzinfo=UTC)


def play_to_bytes(**kwargs: object) -> tuple[bytes, list[dict[str, object]]]:
    cohort = build_cohort(start=START, **kwargs)  # type: ignore[arg-type]
    out = io.BytesIO()
    sink = JsonlSink(out)
    for item in stream(cohort):
        sink.handle(item, "")
    sink.finish(0)
    return out.getvalue(), list(cohort.labels())


def test_the_same_seed_gives_the_same_stream_and_labels() -> None:
    first = play_to_bytes(size=4, days=1, seed=11)
    again = play_to_bytes(size=4, days=1, seed=11)
    other = play_to_bytes(size=4, days=1, seed=12)
    assert first == again
    assert first[0] != other[0]


def values_by_series(cohort_kwargs: dict[str, object]) -> dict[str, list[float]]:
    cohort = build_cohort(start=START, **cohort_kwargs)  # type: ignore[arg-type]
    found: dict[str, list[float]] = defaultdict(list)
    for item in stream(cohort):
        if isinstance(item, Send):
            for reading in item.readings:
                rows = standardise_reading(
                    reading, patient_id=uuid4(), device_id=uuid4(), seq=0, received_at=reading.at
                )
                assert isinstance(rows, list), (item.serial, reading, rows)
                for row in rows:
                    found[row.series.key].append(row.value)
    return found


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), condition=st.sampled_from(CONDITIONS))
def test_every_profile_stays_physiological_and_passes_the_contract(seed: int, condition: str) -> None:
    values = values_by_series({"size": 1, "days": 30, "seed": seed, "conditions": [(condition,)]})
    assert 50 <= statistics.median(values["heart_rate"]) <= 105
    assert 86 <= statistics.median(values["spo2"]) <= 99.5
    assert 10 <= statistics.median(values["respiratory_rate"]) <= 26
    assert 30 <= statistics.median(values["skin_temperature"]) <= 36.5
    for key, low, high in (("bp_systolic", 85, 200), ("bp_diastolic", 45, 120), ("glucose_cgm", 60, 260)):
        if values.get(key):
            assert low <= statistics.median(values[key]) <= high, key
    if values.get("body_weight"):
        assert statistics.pstdev(values["body_weight"]) < 3


def test_a_month_of_a_whole_cohort_decodes_against_the_wire_contract() -> None:
    payload, _ = play_to_bytes(size=6, days=30, seed=5, conditions=[(c,) for c in CONDITIONS])
    lines = payload.splitlines()
    assert len(lines) > 1000
    for line in lines[:: max(1, len(lines) // 2000)]:
        message = msgspec.json.decode(line, type=ReadingsMessage)
        _, errors = decode_readings(line, message.device_id, message.sent_at + timedelta(minutes=1))
        assert errors == [], errors


def readings_of(
    cohort_episodes: list[Episode] | None, days: float = 2
) -> dict[tuple[str, str, datetime], float]:
    cohort = build_cohort(size=1, start=START, days=days, seed=3, conditions=[("heart_failure",)])
    patient = cohort.patients[0]
    patient.faults = []
    if cohort_episodes is not None:
        patient.episodes = [e for e in patient.episodes if e.kind != "event"] + cohort_episodes
    else:
        patient.episodes = [e for e in patient.episodes if e.kind != "event"]
    result: dict[tuple[str, str, datetime], float] = {}
    for item in stream(cohort):
        if isinstance(item, Send):
            for r in item.readings:
                value = r.value if r.value is not None else (r.systolic or 0) * 1000 + (r.diastolic or 0)
                result[(item.serial, r.metric, r.at)] = value
    return result


@pytest.mark.parametrize(
    ("signal", "metric"),
    [("heart_rate", "heart_rate"), ("spo2", "spo2"), ("body_weight", "body_weight")],
)
def test_an_event_changes_its_metrics_in_its_window_and_nothing_else(signal: Signal, metric: str) -> None:
    start, end = START + timedelta(hours=6), START + timedelta(hours=30)
    episode = Episode(
        type="test_event",
        kind="event",
        patient="SIM-3-0000",
        start=start,
        end=end,
        effects=(Effect(signal, shift=-8.0),),
        metrics=(metric,),
    )
    base, changed = readings_of(None), readings_of([episode])
    assert base.keys() == changed.keys()
    differs = {key for key in base if base[key] != changed[key]}
    assert differs, "the event shows"
    assert {m for _, m, _ in differs} == {metric}
    assert all(start <= at < end for _, _, at in differs)


def test_every_device_kind_reports_only_its_declared_metrics() -> None:
    cohort = build_cohort(size=6, start=START, days=2, seed=9, conditions=[(c,) for c in CONDITIONS])
    kinds = {d.serial: d.kind for p in cohort.patients for d in p.devices}
    for item in stream(cohort):
        if isinstance(item, Send):
            spec = KINDS[kinds[item.serial]]
            declared = {(m.value, u) for m, u in (*spec.metrics, *spec.daily)}
            assert {(r.metric, r.unit) for r in item.readings} <= declared
            assert all(r.metric in {m.value for m in SERIES_OF_METRIC} for r in item.readings)


def test_labels_cover_events_non_events_and_faults() -> None:
    cohort = build_cohort(size=30, start=START, days=14, seed=2)
    labels = list(cohort.labels())
    kinds = {label["kind"] for label in labels}
    assert kinds == {"event", "non_event", "fault"}
    for label in labels:
        assert str(label["start"]) <= str(label["end"])
        assert label["patient"] in {p.mrn for p in cohort.patients}
    events = [label for label in labels if label["kind"] == "event"]
    assert events, "a two-week cohort of 30 has clinical events"
