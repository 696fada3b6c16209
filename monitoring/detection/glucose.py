"""CGM episodes by the international consensus (Battelino 2019/2023).

- Hypoglycaemia: below 70 mg/dL (level 1) or 54 mg/dL (level 2) for at least
  15 minutes starts an episode; 15 minutes back at or above 70 ends it. Two
  readings in a row below 54 alert at once (an urgent low does not wait), and
  the alert escalates from level 1 to level 2 within one episode.
- Extended hyperglycaemia: above 250 mg/dL for 120 minutes (the 2023 consensus
  counts 90 of 120 minutes; after-meal peaks can do that, a true high does more); ends after 15
  minutes at or below 230 (hysteresis against flapping around the limit).

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import uuid4
>>> from monitoring.catalogue import Series
>>> from monitoring.detection.base import PatientContext
>>> from monitoring.detection.findings import Observation
>>> p, d, t0 = uuid4(), uuid4(), datetime(2026, 1, 1, tzinfo=UTC)
>>> detector, ctx = GlucoseEpisodes(), PatientContext(p)
>>> out = []
>>> for i, mgdl in enumerate([90, 68, 66, 64, 62, 60, 52, 50, 75, 80, 82, 85]):
...     obs = Observation(p, Series.GLUCOSE_CGM, t0 + timedelta(minutes=5 * i), mgdl, d)
...     out += [(f.kind.value, f.severity.value) for f in detector.observe(obs, ctx)]
>>> out
[('open', 'high'), ('update', 'high'), ('update', 'high'), ('update', 'critical'), ('clear', 'critical')]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.explain import finding, fmt, points, when
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.perpatient import PatientStates, Stateful
from monitoring.detection.state import dump_points, load_points
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Severity


@dataclass(frozen=True, slots=True)
class GlucoseRules:
    level1: float = 70.0
    level2: float = 54.0
    low_persist: timedelta = timedelta(minutes=15)
    low_end: timedelta = timedelta(minutes=15)
    urgent_readings: int = 2  # readings in a row below level 2 that alert at once
    very_high: float = 250.0
    high_end_at: float = 230.0
    high_persist: timedelta = timedelta(minutes=120)
    high_end: timedelta = timedelta(minutes=15)
    max_gap: timedelta = timedelta(minutes=20)


@dataclass(slots=True)
class _Glucose:
    low: EpisodeState = field(default_factory=EpisodeState)
    high: EpisodeState = field(default_factory=EpisodeState)
    level2: bool = False  # the current low episode has reached level 2
    below_l2: int = 0  # consecutive readings below level 2
    recent: deque[tuple[datetime, float]] = field(default_factory=lambda: deque(maxlen=12))

    def dump(self) -> dict[str, Any]:
        return {
            "low": self.low.dump(),
            "high": self.high.dump(),
            "level2": self.level2,
            "below_l2": self.below_l2,
            "recent": dump_points(self.recent),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> _Glucose:
        state = cls(EpisodeState.load(data["low"]), EpisodeState.load(data["high"]))
        state.level2, state.below_l2 = data["level2"], data["below_l2"]
        state.recent.extend(load_points(data["recent"]))
        return state


class GlucoseEpisodes(Stateful[_Glucose]):
    name = "cgm_consensus"

    def __init__(self, rules: GlucoseRules | None = None) -> None:
        self.rules = rules or GlucoseRules()
        r = self.rules
        self._low = Persistence(start_after=r.low_persist, end_after=r.low_end, max_gap=r.max_gap)
        self._high = Persistence(start_after=r.high_persist, end_after=r.high_end, max_gap=r.max_gap)
        self._states = PatientStates(_Glucose, _Glucose.load)

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        if observation.series is not Series.GLUCOSE_CGM:
            return ()
        r, obs = self.rules, observation
        state = self._states(obs.patient_id)
        state.recent.append((obs.at, obs.value))
        found: list[Finding] = []
        state.below_l2 = state.below_l2 + 1 if obs.value < r.level2 else 0
        urgent = state.below_l2 >= r.urgent_readings
        step = self._low.step(state.low, obs.at, obs.value < r.level1, urgent=urgent)
        if step is not None:
            kind, started = step
            if kind == "open":
                state.level2 = urgent or self._l2_sustained(state, started)
            elif kind == "update" and not state.level2:
                state.level2 = urgent or self._l2_sustained(state, started)
            found.append(self._low_finding(kind, started, obs, state))
            if kind == "clear":
                state.level2 = False
        if obs.value > r.very_high:
            high = self._high.step(state.high, obs.at, True)
        elif obs.value <= r.high_end_at:
            high = self._high.step(state.high, obs.at, False)
        else:
            high = None  # between the limits: neither starts nor ends an episode
        if high is not None:
            found.append(self._high_finding(high[0], high[1], obs, state))
        return found

    def _l2_sustained(self, state: _Glucose, started: datetime) -> bool:
        below = [at for at, v in state.recent if at >= started and v < self.rules.level2]
        return bool(below) and below[-1] - below[0] >= self.rules.low_persist

    def _low_finding(self, kind: str, started: datetime, obs: Observation, state: _Glucose) -> Finding:
        r = self.rules
        window = [(at, v) for at, v in state.recent if at >= started]
        lowest = min(v for _, v in window) if window else obs.value
        level = 2 if state.level2 else 1
        limit = r.level2 if level == 2 else r.level1
        minutes = round((obs.at - started).total_seconds() / 60)
        if kind == "clear":
            summary = (
                f"Glucose back at or above {fmt(r.level1)} mg/dL for {int(r.low_end.total_seconds() // 60)} "
                f"minutes as of {when(obs.at)}; the low began {when(started)} (lowest {fmt(lowest)} mg/dL)."
            )
        else:
            summary = (
                f"Level {level} hypoglycaemia: CGM glucose below {fmt(limit)} mg/dL for {minutes} minutes "
                f"since {when(started)}, now {fmt(obs.value)} mg/dL (lowest {fmt(lowest)})."
            )
        return finding(
            detector=self.name,
            patient_id=obs.patient_id,
            alert_type="glucose.low",
            step=kind,
            started=started,
            at=obs.at,
            severity=Severity.CRITICAL if level == 2 else Severity.HIGH,
            summary=summary,
            explanation={
                "rule": "consensus hypoglycaemia: <70 (level 1) or <54 (level 2) mg/dL for >= 15 min; "
                "ends after 15 min >= 70",
                "series": Series.GLUCOSE_CGM.key,
                "level": level,
                "threshold": {"level1": r.level1, "level2": r.level2, "unit": "mg/dL"},
                "observed": points(window),
                "lowest": lowest,
                "baseline": None,
            },
            series=Series.GLUCOSE_CGM,
        )

    def _high_finding(self, kind: str, started: datetime, obs: Observation, state: _Glucose) -> Finding:
        r = self.rules
        window = [(at, v) for at, v in state.recent if at >= started]
        minutes = round((obs.at - started).total_seconds() / 60)
        summary = (
            f"Extended hyperglycaemia: CGM glucose above {fmt(r.very_high)} mg/dL for {minutes} minutes "
            f"since {when(started)}, now {fmt(obs.value)} mg/dL."
            if kind != "clear"
            else f"Glucose at or below {fmt(r.high_end_at)} mg/dL again as of {when(obs.at)}; "
            f"the high began {when(started)}."
        )
        return finding(
            detector=self.name,
            patient_id=obs.patient_id,
            alert_type="glucose.high_extended",
            step=kind,
            started=started,
            at=obs.at,
            severity=Severity.MEDIUM,
            summary=summary,
            explanation={
                "rule": "extended hyperglycaemia: >250 mg/dL for >= 120 min; ends after 15 min <= 230",
                "series": Series.GLUCOSE_CGM.key,
                "threshold": {"limit": r.very_high, "clear_at": r.high_end_at, "unit": "mg/dL"},
                "observed": points(window),
                "baseline": None,
            },
            series=Series.GLUCOSE_CGM,
        )
