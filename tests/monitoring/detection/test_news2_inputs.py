"""NEWS2 reuses each input's median while its fresh readings stay the same: as if counted afresh."""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.detectors.news2 import News2, _News2, fresh_median
from monitoring.detection.findings import Finding, Observation

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
P, D = UUID(int=1), UUID(int=2)
INPUTS = (
    Series.RESPIRATORY_RATE,
    Series.SPO2,
    Series.HEART_RATE,
    Series.BP_SYSTOLIC,
    Series.BODY_TEMPERATURE,
)


def _stream(seed: int, count: int) -> list[Observation]:
    """Each input in its own time order, interleaved, with gaps long enough to age readings out."""
    rng = random.Random(seed)
    at = dict.fromkeys(INPUTS, T0)
    observations = []
    for _ in range(count):
        series = rng.choice(INPUTS)
        at[series] += timedelta(minutes=rng.choice((1, 1, 2, 5, 17, 90)))
        low, high = {
            Series.RESPIRATORY_RATE: (8, 28),
            Series.SPO2: (84, 99),
            Series.HEART_RATE: (38, 135),
            Series.BP_SYSTOLIC: (85, 225),
            Series.BODY_TEMPERATURE: (34.5, 39.8),
        }[series]
        observations.append(Observation(P, series, at[series], round(rng.uniform(low, high), 1), D))
    return observations


def _reference(state: _News2, series: Series, since: datetime) -> float | None:
    fresh = [value for at, value in state.inputs.get(series, ()) if at >= since]
    return statistics.median(fresh) if fresh else None


def test_the_reused_median_is_the_median_of_the_fresh_readings_whatever_the_time_asked() -> None:
    detector = News2()
    context = PatientContext(P)
    rng = random.Random(7)
    checked = reused = 0
    for obs in _stream(seed=3, count=3000):
        detector.observe(obs, context)
        state = detector._states(P)
        for scale in (1, 2):
            full = detector.score(state, obs.at, scale)
            assert detector.total(state, obs.at, scale) == (None if full is None else full.total)
        # Other inputs' readings move "now" back and forth: ask about times either side.
        for series in INPUTS:
            for minutes in (rng.uniform(-120, 120), rng.uniform(-5, 5), 0.0):
                now, limit = obs.at + timedelta(minutes=minutes), detector.rules.fresh[series]
                before = state.medians.get(series)
                got = fresh_median(state, series, now, limit)
                reused += before is not None and state.medians.get(series) is before
                assert got == _reference(state, series, now - limit), (series, now)
                checked += 1
    assert checked == 45_000
    assert reused > 10_000, "the median is reused, not worked out again every time"


class _Recount(News2):
    """NEWS2 that forgets every median before each reading: each score is worked out from scratch."""

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        self._states(observation.patient_id).medians.clear()
        return super().observe(observation, context)


def test_news2_raises_the_same_alerts_with_and_without_reusing_medians() -> None:
    context = PatientContext(P)
    reusing, recounting = News2(), _Recount()
    found: list[tuple[object, ...]] = []
    for obs in _stream(seed=11, count=20_000):
        mine = [(f.kind, f.at, f.explanation) for f in reusing.observe(obs, context)]
        assert mine == [(f.kind, f.at, f.explanation) for f in recounting.observe(obs, context)]
        found.extend(mine)
    assert len(found) >= 10, "the stream must raise and clear NEWS2 episodes for the comparison to mean much"
