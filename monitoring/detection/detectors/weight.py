"""Heart-failure weight rules: a gain over a few days means fluid, not fat.

They apply to patients with heart failure, or whose care plan sets a weight
limit (``scope``); the engine does not call them for anyone else.

Defaults: more than 2 kg in 3 days (ESC patient guidance) or more than 2.3 kg
(5 lb) in 7 days. The gain is measured from the lowest weight in the window,
so one heavy morning after a light one counts, but a slow drift over weeks
does not. The alert ends once the gain over the window is back under 1 kg.
These fixed rules are known to be weak (20-65 % sensitivity); the personal
trend model is the stronger signal, and both explain themselves.

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import uuid4
>>> from monitoring.catalogue import Series
>>> from monitoring.detection.base import PatientContext, Scope
>>> from monitoring.detection.findings import Observation
>>> p, d, t0 = uuid4(), uuid4(), datetime(2026, 1, 1, 7, tzinfo=UTC)
>>> rule, ctx, kinds = WeightGain(), PatientContext(p), []
>>> for day, kg in enumerate([80.0, 80.2, 79.9, 80.8, 81.5, 82.1]):
...     obs = Observation(p, Series.BODY_WEIGHT, t0 + timedelta(days=day), kg, d)
...     kinds += [(day, f.kind.value) for f in rule.observe(obs, ctx)]
>>> kinds
[(5, 'open')]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext, Scope
from monitoring.detection.explain import Explanation, finding, fmt, points, when
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.perpatient import PatientStates, Stateful
from monitoring.detection.state import dump_points, load_points
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Condition, Severity


@dataclass(frozen=True, slots=True)
class WeightRules:
    windows: tuple[tuple[timedelta, float], ...] = (
        (timedelta(days=3), 2.0),
        (timedelta(days=7), 2.3),
    )
    clear_below: float = 1.0


@dataclass(slots=True)
class _Weight:
    history: deque[tuple[datetime, float]] = field(default_factory=lambda: deque(maxlen=30))
    episode: EpisodeState = field(default_factory=EpisodeState)

    def dump(self) -> dict[str, Any]:
        return {"history": dump_points(self.history), "episode": self.episode.dump()}

    @classmethod
    def load(cls, data: dict[str, Any]) -> _Weight:
        state = cls(episode=EpisodeState.load(data["episode"]))
        state.history.extend(load_points(data["history"]))
        return state


class WeightGain(Stateful[_Weight]):
    name = "hf_weight"
    series = frozenset({Series.BODY_WEIGHT})
    # Fluid retention is a heart-failure sign; elsewhere a gain is only a gain.
    scope = Scope(frozenset({Condition.HEART_FAILURE}), opt_in_series=Series.BODY_WEIGHT)

    def __init__(self, rules: WeightRules | None = None) -> None:
        self.rules = rules or WeightRules()
        self._episodes = Persistence()
        self._states = PatientStates(_Weight, _Weight.load)

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        obs = observation
        if obs.series is not Series.BODY_WEIGHT:
            return ()
        state = self._states(obs.patient_id)
        gains: list[tuple[timedelta, float, float, datetime]] = []
        for window, limit in self.rules.windows:
            earlier = [(at, v) for at, v in state.history if obs.at - window <= at < obs.at]
            if earlier:
                low_at, low = min(earlier, key=lambda p: p[1])
                gains.append((window, limit, obs.value - low, low_at))
        state.history.append((obs.at, obs.value))
        if not gains:
            return ()
        over = [g for g in gains if g[2] > g[1]]
        if over:
            step = self._episodes.step(state.episode, obs.at, True)
        elif all(g[2] < self.rules.clear_below for g in gains):
            step = self._episodes.step(state.episode, obs.at, False)
        else:
            step = None
        if step is None:
            return ()
        kind, started = step
        window, limit, gain, low_at = max(over or gains, key=lambda g: g[2] - g[1])
        days = window.days
        summary = (
            f"Weight up {fmt(gain)} kg in {days} days (limit {fmt(limit)} kg): {fmt(obs.value)} kg on "
            f"{when(obs.at)} against {fmt(obs.value - gain)} kg on {when(low_at)}; possible fluid retention."
            if kind != "clear"
            else f"Weight gain back under {fmt(self.rules.clear_below)} kg as of {when(obs.at)} "
            f"({fmt(obs.value)} kg)."
        )
        return [
            finding(
                detector=self.name,
                patient_id=obs.patient_id,
                alert_type="hf.weight_gain",
                step=kind,
                started=started,
                at=obs.at,
                severity=Severity.HIGH,
                summary=summary,
                explanation=Explanation(
                    rule=" or ".join(f"> {fmt(lim)} kg in {w.days} days" for w, lim in self.rules.windows),
                    series=Series.BODY_WEIGHT.key,
                    observed=points(state.history)[-8:],
                    threshold={"limit_kg": limit, "days": days},
                    baseline={"lowest_in_window_kg": round(obs.value - gain, 2)},
                    details={
                        "gains": [
                            {"days": w.days, "limit_kg": lim, "gain_kg": round(g, 2), "from": at.isoformat()}
                            for w, lim, g, at in gains
                        ]
                    },
                ),
                series=Series.BODY_WEIGHT,
            )
        ]
