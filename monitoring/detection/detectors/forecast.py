"""Predicted low glucose: Nightscout's AR(2) forecast on ln(BG/140), made steadier.

Nightscout's baseline (lib/plugins/ar2.js) fits nothing: it runs fixed AR(2)
coefficients on the last two readings, 5-minute steps, and warns when the
30-minute forecast is low. Single CGM readings carry several percent of noise,
so one noisy reading swings the forecast. This detector feeds the same model
the mean of the last two readings against the mean of the two ending one
reading earlier (less noise, still a five-minute step). It only forecasts from
fresh, evenly spaced data, and never from readings the quality gate held back.

>>> [round(v) for v in ar2_forecast(120.0, 110.0, steps=3)]  # falling, pulled back towards 140
[103, 99, 96]
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

AR2_COEFFICIENTS = (-0.723, 1.716)  # Nightscout ar2.js, on ln(BG / 140) at 5-minute steps
BG_REF, BG_MIN, BG_MAX = 140.0, 36.0, 400.0
STEP = timedelta(minutes=5)


def ar2_forecast(previous: float, current: float, *, steps: int = 6) -> list[float]:
    """Forecast ``steps`` 5-minute steps ahead from two readings 5 minutes apart (mg/dL)."""
    y0, y1 = math.log(previous / BG_REF), math.log(current / BG_REF)
    out: list[float] = []
    for _ in range(steps):
        y0, y1 = y1, AR2_COEFFICIENTS[0] * y0 + AR2_COEFFICIENTS[1] * y1
        out.append(min(BG_MAX, max(BG_MIN, BG_REF * math.exp(y1))))
    return out


@dataclass(frozen=True, slots=True)
class ForecastRules:
    limit: float = 70.0
    horizon: timedelta = timedelta(minutes=30)
    smoothing: int = 2  # readings averaged on each side of the 5-minute step
    confirm: int = 1  # forecasts in a row below the limit before warning
    recover_at: float = 80.0
    fresh: timedelta = timedelta(minutes=10)


@dataclass(slots=True)
class _Forecast:
    recent: deque[tuple[datetime, float]] = field(default_factory=lambda: deque(maxlen=4))
    episode: EpisodeState = field(default_factory=EpisodeState)

    def dump(self) -> dict[str, Any]:
        return {"recent": dump_points(self.recent), "episode": self.episode.dump()}

    @classmethod
    def load(cls, data: dict[str, Any]) -> _Forecast:
        state = cls(episode=EpisodeState.load(data["episode"]))
        state.recent.extend(load_points(data["recent"]))
        return state


class PredictedLow(Stateful[_Forecast]):
    name = "glucose_forecast"
    series = frozenset({Series.GLUCOSE_CGM})

    def __init__(self, rules: ForecastRules | None = None) -> None:
        self.rules = rules or ForecastRules()
        self._episodes = Persistence(
            start_count=self.rules.confirm, end_count=2, max_gap=timedelta(minutes=12)
        )
        self._states = PatientStates(_Forecast, _Forecast.load)

    def forecast(self, recent: Sequence[tuple[datetime, float]]) -> list[float] | None:
        """The 30-minute forecast from the last readings, or None when they are too sparse."""
        k = self.rules.smoothing
        if len(recent) < k + 1:
            return None
        window = list(recent)[-(k + 1) :]
        span = window[-1][0] - window[0][0]
        if abs(span - STEP * k) > timedelta(minutes=2) * k:
            return None  # a gap or irregular spacing: AR(2) assumes 5-minute steps
        # Means of the last k readings and of the k before the last: still 5 minutes apart.
        previous = sum(v for _, v in window[:-1]) / k
        current = sum(v for _, v in window[1:]) / k
        return ar2_forecast(previous, current, steps=int(self.rules.horizon / STEP))

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        if observation.series is not Series.GLUCOSE_CGM:
            return ()
        r, obs = self.rules, observation
        state = self._states(obs.patient_id)
        if state.recent and obs.at - state.recent[-1][0] > r.fresh:
            state.recent.clear()  # stale history: never forecast across a gap
        state.recent.append((obs.at, obs.value))
        predicted = self.forecast(state.recent)
        if predicted is None:
            return ()
        ahead = predicted[-1]
        if ahead < r.limit and obs.value >= r.limit:
            step = self._episodes.step(state.episode, obs.at, True)
        elif ahead >= r.recover_at or (obs.value < r.limit and state.episode.active):
            step = self._episodes.step(state.episode, obs.at, False)
        else:
            step = None
        if step is None or step[0] == "update":
            return ()
        kind, started = step
        return [self._finding(kind, started, obs, state, predicted)]

    def _finding(
        self, kind: str, started: datetime, obs: Observation, state: _Forecast, predicted: list[float]
    ) -> Finding:
        r = self.rules
        ahead = predicted[-1]
        minutes = int(r.horizon.total_seconds() // 60)
        summary = (
            f"Low glucose predicted: the AR(2) forecast gives {fmt(ahead)} mg/dL in {minutes} minutes "
            f"(now {fmt(obs.value)} mg/dL at {when(obs.at)}, limit {fmt(r.limit)})."
            if kind == "open"
            else f"Glucose forecast no longer low as of {when(obs.at)} (now {fmt(obs.value)} mg/dL)."
        )
        return finding(
            detector=self.name,
            patient_id=obs.patient_id,
            alert_type="glucose.predicted_low",
            step=kind,
            started=started,
            at=obs.at,
            severity=Severity.MEDIUM,
            summary=summary,
            explanation=Explanation(
                rule=f"30-minute AR(2) forecast below {fmt(r.limit)} mg/dL on {r.confirm} readings in a row",
                series=Series.GLUCOSE_CGM.key,
                observed=points(state.recent),
                threshold={"limit": r.limit, "unit": "mg/dL"},
                baseline=None,
                details={
                    "model": {
                        "name": "AR(2) on ln(BG/140)",
                        "coefficients": list(AR2_COEFFICIENTS),
                        "smoothing": r.smoothing,
                    },
                    "forecast": {
                        "horizon_min": minutes,
                        "values": [round(v, 1) for v in predicted],
                        "at_horizon": round(ahead, 1),
                    },
                },
            ),
            series=Series.GLUCOSE_CGM,
        )
