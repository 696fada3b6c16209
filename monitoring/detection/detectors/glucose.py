"""CGM hypoglycaemia and extended hyperglycaemia, by the international consensus (Battelino 2019/2023).

- Hypoglycaemia: the consensus counts an episode once glucose has been below
  70 mg/dL (level 1) or 54 mg/dL (level 2) for 15 minutes, and ends it after
  15 minutes back at or above 70. Those definitions are for reports; a person
  going low needs help sooner, so the alert opens on two readings in a row
  below 70 (about 5 minutes with a 5-minute CGM, as a CGM's own low alarm
  does) and says when the low has become a consensus episode. It escalates
  from level 1 to level 2 within the episode: at once on two readings below
  54, or after 15 minutes below 54.
- Extended hyperglycaemia (2023 consensus): above 250 mg/dL for at least 90
  cumulative minutes within 120 minutes, and not already coming down (an
  after-meal peak falls back on its own; a persistent high does not); ends
  after 15 minutes at or below 230 (hysteresis against flapping around the
  limit).

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
>>> out[0], out[-2:]  # opens at 66 (the 2nd low), level 2 at 50 (the 2nd below 54), ends at 85
(('open', 'high'), [('update', 'critical'), ('clear', 'critical')])
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.explain import Explanation, finding, fmt, points, when
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.perpatient import PatientStates, Stateful
from monitoring.detection.state import dump_points, load_points
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Severity


@dataclass(frozen=True, slots=True)
class GlucoseRules:
    level1: float = 70.0
    level2: float = 54.0
    low_alert_readings: int = 2  # readings in a row below level 1 that open the alert ...
    low_alert_after: timedelta = timedelta(minutes=5)  # ... spanning at least this long
    low_persist: timedelta = timedelta(minutes=15)  # a consensus episode
    low_end: timedelta = timedelta(minutes=15)
    urgent_readings: int = 2  # readings in a row below level 2 that make it level 2 at once
    very_high: float = 250.0
    high_end_at: float = 230.0
    high_cumulative: timedelta = timedelta(minutes=90)  # time above very_high ...
    high_window: timedelta = timedelta(minutes=120)  # ... within this window
    falling: float = -0.5  # mg/dL a minute over the last 30 minutes: a high already coming down waits
    high_end: timedelta = timedelta(minutes=15)
    max_gap: timedelta = timedelta(minutes=20)


_TREND = timedelta(minutes=30)
_KEEP = 150  # readings kept: the 120-minute hyperglycaemia window at 1-minute CGM, and some


@dataclass(slots=True)
class _Glucose:
    low: EpisodeState = field(default_factory=EpisodeState)
    high: EpisodeState = field(default_factory=EpisodeState)
    level2: bool = False  # the current low episode has reached level 2
    below_l2: int = 0  # consecutive readings below level 2
    recent: deque[tuple[datetime, float]] = field(default_factory=lambda: deque(maxlen=_KEEP))

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
    series = frozenset({Series.GLUCOSE_CGM})

    def __init__(self, rules: GlucoseRules | None = None) -> None:
        self.rules = rules or GlucoseRules()
        r = self.rules
        self._low = Persistence(
            start_after=r.low_alert_after,
            start_count=r.low_alert_readings,
            end_after=r.low_end,
            max_gap=r.max_gap,
        )
        self._high = Persistence(end_after=r.high_end, max_gap=r.max_gap)
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
        high = self._high_step(state, obs)
        if high is not None:
            found.append(self._high_finding(high[0], high[1], obs, state))
        return found

    def _high_step(self, state: _Glucose, obs: Observation) -> tuple[str, datetime] | None:
        r = self.rules
        if state.high.active:  # in an episode: it lasts while glucose stays above the clear level
            return self._high.step(state.high, obs.at, obs.value > r.high_end_at)
        if obs.value <= r.very_high:
            return None
        since = obs.at - r.high_window
        window = [(at, v) for at, v in state.recent if at >= since]
        above = timedelta(0)
        for (at, value), (after, _) in zip(window, window[1:], strict=False):
            if value > r.very_high:
                above += min(after - at, r.max_gap)
        if above < r.high_cumulative or self._slope(window, obs.at) < r.falling:
            return None
        step = self._high.step(state.high, obs.at, True)
        first = next(at for at, v in window if v > r.very_high)
        state.high.active_since = state.high.pending_since = first  # the episode began with the first high
        return None if step is None else (step[0], first)

    @staticmethod
    def _slope(window: list[tuple[datetime, float]], now: datetime) -> float:
        """Least-squares trend of the last 30 minutes, mg/dL a minute (0 with too few readings)."""
        recent = [((at - now).total_seconds() / 60, v) for at, v in window if now - at <= _TREND]
        if len(recent) < 3:
            return 0.0
        mx = sum(x for x, _ in recent) / len(recent)
        my = sum(y for _, y in recent) / len(recent)
        sxx = sum((x - mx) ** 2 for x, _ in recent)
        return sum((x - mx) * (y - my) for x, y in recent) / sxx if sxx else 0.0

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
        episode = obs.at - started >= r.low_persist  # the consensus definition is met
        pending = f"; a consensus episode once it lasts {fmt(r.low_persist.seconds / 60)} min."
        if kind == "clear":
            summary = (
                f"Glucose back at or above {fmt(r.level1)} mg/dL for {int(r.low_end.total_seconds() // 60)} "
                f"minutes as of {when(obs.at)}; the low began {when(started)} (lowest {fmt(lowest)} mg/dL)."
            )
        else:
            summary = (
                f"Level {level} hypoglycaemia: CGM glucose below {fmt(limit)} mg/dL for {minutes} minutes "
                f"since {when(started)}, now {fmt(obs.value)} mg/dL (lowest {fmt(lowest)} mg/dL)"
                + ("." if episode else pending)
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
            explanation=Explanation(
                rule="hypoglycaemia: 2 CGM readings in a row <70 (level 1) or <54 (level 2) mg/dL; "
                "a consensus episode after 15 min; ends after 15 min >= 70",
                series=Series.GLUCOSE_CGM.key,
                observed=points(window),
                threshold={"level1": r.level1, "level2": r.level2, "unit": "mg/dL"},
                baseline=None,
                details={
                    "consensus_episode": episode,
                    "minutes_below": minutes,
                    "level": level,
                    "lowest": lowest,
                },
            ),
            series=Series.GLUCOSE_CGM,
        )

    def _high_finding(self, kind: str, started: datetime, obs: Observation, state: _Glucose) -> Finding:
        r = self.rules
        window = [(at, v) for at, v in state.recent if at >= started]
        minutes = round((obs.at - started).total_seconds() / 60)
        above = sum(
            (
                min(after - at, r.max_gap)
                for (at, v), (after, _) in zip(window, window[1:], strict=False)
                if v > r.very_high
            ),
            timedelta(0),
        )
        summary = (
            f"Extended hyperglycaemia: CGM glucose above {fmt(r.very_high)} mg/dL for "
            f"{round(above.total_seconds() / 60)} of the {minutes} minutes since {when(started)}, "
            f"now {fmt(obs.value)} mg/dL."
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
            explanation=Explanation(
                rule="extended hyperglycaemia: >250 mg/dL for >= 90 of 120 min; ends after 15 min <= 230",
                series=Series.GLUCOSE_CGM.key,
                observed=points(window),
                threshold={"limit": r.very_high, "clear_at": r.high_end_at, "unit": "mg/dL"},
                baseline=None,
            ),
            series=Series.GLUCOSE_CGM,
        )
