"""Rapid irregular heart rate (as in atrial fibrillation with a fast ventricular response).

A wearable's minute-by-minute heart rate cannot show the ECG, but it shows two
things AF with a rapid response does: a fast rate and a rate that jumps about
from one minute to the next far more than this patient's usually does. Fast
and regular (exercise, fever) is left to the sustained care-plan limit; fast
and irregular alerts within minutes.

Irregularity is the RMSSD of successive minute rates over the last ten
minutes, with the local trend taken out (second differences, scaled so that
random minute-to-minute scatter gives the plain RMSSD): a rate climbing
steadily at the start of exercise changes a lot from minute to minute but is
not irregular. It is compared with the patient's own usual value, learned at
rest.

>>> detrended_rmssd([60, 70, 80, 90, 100]), detrended_rmssd([60, 80, 60, 80, 60]) > 20  # ramp, scatter
(0.0, True)
"""

from __future__ import annotations

import math
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
class RhythmRules:
    rate: float = 110.0  # median of the last 5 minutes above this is fast
    calm_rate: float = 100.0  # below this the episode is over
    irregular_ratio: float = 1.6  # RMSSD this many times the patient's usual ...
    irregular_floor: float = 8.0  # ... and at least this many beats/min
    window: int = 10  # minute readings in the RMSSD window
    max_step: timedelta = timedelta(minutes=3)  # readings further apart are not minute-level
    start_count: int = 3
    end_after: timedelta = timedelta(minutes=10)
    learn_every: int = 5  # resting windows: learn from one in this many ...
    usual_alpha: float = 0.01  # ... with this weight (a memory of about 500 resting minutes)
    learn_first: int = (
        12  # learned windows (an hour at rest) before the patient's own variability is trusted ...
    )
    prior_rmssd: float = 8.0  # ... and what is assumed until then (sinus rhythm varies less)

    def __post_init__(self) -> None:
        if self.window < 5:
            raise ValueError("the RMSSD window must hold at least the 5 minutes the rate is taken over")


@dataclass(slots=True)
class _Rhythm:
    recent: deque[tuple[datetime, float]] = field(default_factory=lambda: deque(maxlen=10))
    usual_rmssd: float | None = None
    learned: int = 0
    rested: int = 0
    episode: EpisodeState = field(default_factory=EpisodeState)

    def dump(self) -> dict[str, Any]:
        return {
            "recent": dump_points(self.recent),
            "usual_rmssd": self.usual_rmssd,
            "learned": self.learned,
            "rested": self.rested,
            "episode": self.episode.dump(),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> _Rhythm:
        state = cls(usual_rmssd=data["usual_rmssd"], learned=data["learned"], rested=data.get("rested", 0))
        state.episode = EpisodeState.load(data["episode"])
        state.recent.extend(load_points(data["recent"]))
        return state


def detrended_rmssd(values: Sequence[float]) -> float:
    """RMSSD after removing a local linear trend: RMS of second differences over sqrt(3).

    One plain loop: it runs for every minute heart rate, and comprehensions over
    zipped slices cost three times as much here.
    """
    count = len(values) - 2
    if count <= 0:
        return 0.0
    total = 0.0
    a, b = values[0], values[1]
    for i in range(2, len(values)):
        c = values[i]
        d = c - 2 * b + a
        total += d * d
        a, b = b, c
    return math.sqrt(total / (3 * count))


class RapidIrregularRate(Stateful[_Rhythm]):
    name = "rapid_irregular_rate"
    series = frozenset({Series.HEART_RATE})

    def __init__(self, rules: RhythmRules | None = None) -> None:
        self.rules = rules or RhythmRules()
        self._episodes = Persistence(start_count=self.rules.start_count, end_after=self.rules.end_after)
        self._states = PatientStates(_Rhythm, _Rhythm.load)

    def _learn(self, state: _Rhythm, irregularity: float) -> None:
        state.learned += 1
        alpha = max(self.rules.usual_alpha, 1.0 / state.learned)
        known = state.usual_rmssd
        state.usual_rmssd = irregularity if known is None else known + alpha * (irregularity - known)

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        obs, r = observation, self.rules
        if obs.series is not Series.HEART_RATE:
            return ()
        state = self._states(obs.patient_id)
        if state.recent and obs.at - state.recent[-1][0] > r.max_step:
            state.recent.clear()  # spot checks or a gap: not a minute-level series
        state.recent.append((obs.at, obs.value))
        if len(state.recent) < r.window:
            return ()
        recent = state.recent
        # The median of the last 5 minutes (the window always holds at least 5).
        rate = sorted((recent[-1][1], recent[-2][1], recent[-3][1], recent[-4][1], recent[-5][1]))[2]
        if rate < r.calm_rate and not state.episode.active:
            # At rest: learn the usual beat-to-beat variability, from every learn_every-th window
            # (neighbouring windows share all but one reading; a pass a minute adds only cost).
            state.rested += 1
            if state.rested % r.learn_every == 0:
                self._learn(state, detrended_rmssd([v for _, v in recent]))
            if state.episode.pending_since is None:
                return ()  # calm with nothing pending: nothing to decide
        irregularity = detrended_rmssd([v for _, v in recent])
        learned = state.usual_rmssd if state.learned >= r.learn_first else None
        usual = learned if learned is not None else r.prior_rmssd
        irregular = irregularity >= max(r.irregular_ratio * usual, r.irregular_floor)
        abnormal = rate > r.rate and irregular
        if state.episode.active and not abnormal and rate >= r.calm_rate:
            return ()  # still fast: the episode is not over
        step = self._episodes.step(state.episode, obs.at, abnormal)
        if step is None:
            return ()
        kind, started = step
        return [self._finding(kind, started, obs, state, rate, irregularity, usual, learned)]

    def _finding(
        self,
        kind: str,
        started: datetime,
        obs: Observation,
        state: _Rhythm,
        rate: float,
        irregularity: float,
        usual: float,
        learned: float | None,
    ) -> Finding:
        r = self.rules
        summary = (
            f"Rapid irregular heart rate: median {fmt(rate)} /min over 5 minutes with minute-to-minute "
            f"variability {fmt(irregularity)} /min, {fmt(irregularity / usual)} times "
            f"{'this patient' if learned is not None else 'a typical patient'}'s usual {fmt(usual)}, "
            f"since {when(started)}; consistent with AF with a fast response."
            if kind != "clear"
            else f"Heart rate below {fmt(r.calm_rate)} /min again as of {when(obs.at)} (median {fmt(rate)})."
        )
        return finding(
            detector=self.name,
            patient_id=obs.patient_id,
            alert_type="arrhythmia.rapid_irregular",
            step=kind,
            started=started,
            at=obs.at,
            severity=Severity.HIGH,
            summary=summary,
            explanation=Explanation(
                rule=f"5-min median rate > {fmt(r.rate)} /min and detrended RMSSD >= "
                f"{r.irregular_ratio} x usual (>= {fmt(r.irregular_floor)})",
                series=Series.HEART_RATE.key,
                observed=points(state.recent),
                score={"median_rate": rate, "detrended_rmssd": round(irregularity, 2)},
                threshold={"rate": r.rate, "irregular_ratio": r.irregular_ratio},
                baseline={"usual_rmssd": round(usual, 2), "learned": learned is not None},
            ),
            series=Series.HEART_RATE,
        )
