"""Predicted low glucose: a model of the risk that a hypoglycaemia begins within the hour.

At each CGM reading a logistic model turns the recent trajectory (level, 10-
and 30-minute slopes, acceleration, Nightscout's AR2 forecast, time to 70 at
the current rate) and the person's own history (how often they have been low,
how recently, their mean and variability, night) into the probability that a
consensus hypoglycaemia (< 70 mg/dL for 15 minutes) starts in the next 60
minutes. Its weights were fitted on real CGM traces of the tuning people only
(``python -m evaluation.hypo_training``) and ship in ``hypo_risk.json``.

The alert opens when the risk reaches ``threshold`` while glucose is still at
or above 70 (below 70 the low-glucose rule speaks), at most once an hour, and
clears when the risk falls below ``clear_at``, when the low begins, or when the
hour it spoke of has passed without one.

Beside the model runs the rule commercial CGMs use for "urgent low soon"
(Dexcom: 55 mg/dL or lower within 20 minutes at the current rate; here only
from below 110 mg/dL, so that the fall from a meal's peak is not taken for a
dive); when it
holds the alert is high rather than medium severity. On its own it opens an
alert only for people with type 1 diabetes (``urgent_for``), whose insulin can
drive a dive the model has rarely seen: on the real traces of everyone else
it cost about four false alerts per patient-week for fewer warnings than the
model gives at that rate (``evaluation/cgm_report.py`` scores it alone).

Every alert shows the trajectory, the AR2 forecast with its horizon, the risk
against the threshold, and the inputs that pushed the risk up most.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.detectors.hypo_features import LOW, NAMES, Features, Trajectory
from monitoring.detection.explain import Explanation, finding, fmt, points, when
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.perpatient import PatientStates, Stateful
from monitoring.detection.state import dump_time, load_time
from monitoring.domain import Condition, Severity

WEIGHTS = Path(__file__).with_name("hypo_risk.json")
_SLOPE_10 = NAMES.index("slope_10")

_LABELS = {
    "level": "glucose level",
    "level_sq": "glucose level",
    "slope_10": "fall over the last 10 minutes",
    "slope_30": "fall over the last 30 minutes",
    "acceleration": "fall speeding up",
    "ar2_30": "AR2 30-minute forecast",
    "hours_to_70": "time to 70 at the current rate",
    "near_70": "time to 70 at the current rate",
    "projected_20": "where the current rate leads in 20 minutes",
    "min_60": "lowest value in the last hour",
    "low_share": "how often this person has been low",
    "recent_low": "a recent low",
    "night": "night time",
    "mean_level": "this person's usual level",
    "variability": "this person's glucose variability",
}


@dataclass(frozen=True, slots=True)
class RiskModel:
    """Standardised logistic regression: weights per feature, the mean and scale used in fitting."""

    intercept: float
    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    horizon_min: int = 60

    def contributions(self, vector: Sequence[float]) -> list[float]:
        return [
            w * (x - m) / s for w, x, m, s in zip(self.weights, vector, self.mean, self.scale, strict=True)
        ]

    def risk(self, vector: Sequence[float]) -> float:
        return _logistic(self.intercept + sum(self.contributions(vector)))

    def linear(self) -> tuple[float, tuple[float, ...]]:
        """The same model as one offset and one coefficient per raw feature (the per-reading form)."""
        coefficients = tuple(w / s for w, s in zip(self.weights, self.scale, strict=True))
        offset = self.intercept - sum(c * m for c, m in zip(coefficients, self.mean, strict=True))
        return offset, coefficients

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(NAMES),
            "intercept": self.intercept,
            "weights": list(self.weights),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "horizon_min": self.horizon_min,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RiskModel:
        if tuple(data["features"]) != NAMES:
            raise ValueError(f"model features {data['features']} do not match {list(NAMES)}")
        return cls(
            float(data["intercept"]),
            tuple(data["weights"]),
            tuple(data["mean"]),
            tuple(data["scale"]),
            int(data.get("horizon_min", 60)),
        )


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@cache
def shipped_model() -> RiskModel:
    return RiskModel.from_json(json.loads(WEIGHTS.read_text())["model"])


@dataclass(frozen=True, slots=True)
class RiskRules:
    threshold: float = 0.5  # chosen on the tuning people's curve (see README, Detection)
    clear_at: float = 0.25
    refractory: timedelta = timedelta(minutes=60)  # after an alert opens, no new one for this long
    expires: timedelta = timedelta(minutes=60)  # the model's horizon: no low by then, the alert ends
    urgent_level: float = 55.0  # Dexcom-style "urgent low soon": at or below this ...
    urgent_within: timedelta = timedelta(minutes=20)  # ... within this long at the current rate
    urgent_below: float = 110.0  # ... from below this: a fast fall from a meal's peak is not a dive
    urgent_for: frozenset[Condition] = frozenset({Condition.TYPE1_DIABETES})  # opens alerts alone


@dataclass(slots=True)
class RiskAlarm:
    """Open, clear and refractory time for one person's risk; replayable at other thresholds."""

    rules: RiskRules
    open_since: datetime | None = None
    last_open: datetime | None = None

    def step(self, at: datetime, value: float, risk: float, urgent: bool = False) -> str | None:
        """``urgent``: the urgent-low-soon rule holds and may open an alert for this patient."""
        r = self.rules
        if self.open_since is not None:
            expired = at - self.open_since >= r.expires
            if value < LOW or expired or (risk < r.clear_at and not urgent):
                self.open_since = None
                return "clear"
            return None
        if value < LOW or (risk < r.threshold and not urgent):
            return None
        if self.last_open is not None and at - self.last_open < r.refractory:
            return None
        self.open_since = self.last_open = at
        return "open"


@dataclass(slots=True)
class _Risk:
    trajectory: Trajectory = field(default_factory=Trajectory)
    open_since: datetime | None = None
    last_open: datetime | None = None

    def dump(self) -> dict[str, Any]:
        return {
            "trajectory": self.trajectory.dump(),
            "open_since": dump_time(self.open_since),
            "last_open": dump_time(self.last_open),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> _Risk:
        return cls(
            Trajectory.load(data["trajectory"]), load_time(data["open_since"]), load_time(data["last_open"])
        )


def urgent_soon(features: Features, rules: RiskRules) -> bool:
    """At the last 10 minutes' rate, glucose reaches ``urgent_level`` within ``urgent_within``."""
    if features.value >= rules.urgent_below:
        return False
    ahead = features.value + features.vector[_SLOPE_10] * rules.urgent_within.total_seconds() / 60
    return ahead <= rules.urgent_level


class HypoRisk(Stateful[_Risk]):
    name = "glucose_hypo_risk"
    series = frozenset({Series.GLUCOSE_CGM})

    def __init__(self, rules: RiskRules | None = None, model: RiskModel | None = None) -> None:
        self.rules = rules or RiskRules()
        self.model = model or shipped_model()
        self._offset, self._coefficients = self.model.linear()
        self._states = PatientStates(_Risk, _Risk.load)
        # Offline evaluation listens here to every risk computed (patient, features, risk, and
        # whether the urgent rule could open an alert).
        self.tap: Callable[[UUID, Features, float, bool], None] | None = None

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        obs = observation
        if obs.series is not Series.GLUCOSE_CGM:
            return ()
        state = self._states(obs.patient_id)
        features = state.trajectory.add(obs.at, obs.value)
        if features is None:
            return ()
        z = self._offset + sum([c * x for c, x in zip(self._coefficients, features.vector, strict=True)])
        risk = _logistic(z)
        urgent = urgent_soon(features, self.rules)
        may_open = urgent and bool(self.rules.urgent_for & context.conditions)
        if self.tap is not None:
            self.tap(obs.patient_id, features, risk, may_open)
        alarm = RiskAlarm(self.rules, state.open_since, state.last_open)
        step = alarm.step(obs.at, obs.value, risk, may_open)
        started = state.open_since
        state.open_since, state.last_open = alarm.open_since, alarm.last_open
        if step is None:
            return ()
        return [self._finding(step, started or obs.at, obs, state, features, risk, urgent)]

    def _finding(
        self,
        step: str,
        started: datetime,
        obs: Observation,
        state: _Risk,
        features: Features,
        risk: float,
        urgent: bool,
    ) -> Finding:
        r, minutes = self.rules, self.model.horizon_min
        drivers = self._drivers(features)
        if step == "open":
            why = f"risk {risk:.0%} of a low within {minutes} minutes (alert at {r.threshold:.0%})"
            if urgent:
                why = (
                    f"at the current rate it reaches {fmt(r.urgent_level)} mg/dL within "
                    f"{int(r.urgent_within.total_seconds() // 60)} minutes; {why}"
                )
            summary = (
                f"Low glucose likely soon: now {fmt(obs.value)} mg/dL at {when(obs.at)}, "
                f"{features.named()['slope_10']:+.1f} mg/dL/min; {why}. "
                f"AR2 forecast {fmt(features.forecast_30)} mg/dL in 30 minutes."
            )
        else:
            summary = f"Low glucose no longer predicted as of {when(obs.at)} (now {fmt(obs.value)} mg/dL)."
            if obs.value < LOW:
                summary = f"The predicted low has begun ({fmt(obs.value)} mg/dL at {when(obs.at)})."
        return finding(
            detector=self.name,
            patient_id=obs.patient_id,
            alert_type="glucose.predicted_low",
            step=step,
            started=started,
            at=obs.at,
            severity=Severity.HIGH if urgent else Severity.MEDIUM,
            summary=summary,
            explanation=Explanation(
                rule=(
                    f"risk of glucose below {fmt(LOW)} mg/dL for 15 minutes starting within {minutes} "
                    f"minutes >= {r.threshold:.0%}; high severity when {fmt(r.urgent_level)} mg/dL or "
                    f"lower is {int(r.urgent_within.total_seconds() // 60)} minutes away at the current rate "
                    "(which alone opens the alert in type 1 diabetes)"
                ),
                series=Series.GLUCOSE_CGM.key,
                observed=points(state.trajectory.readings()[-7:]),
                threshold={"risk": r.threshold, "clear_below": r.clear_at, "urgent_level": r.urgent_level},
                score={"risk": round(risk, 3), "urgent_soon": urgent},
                baseline=None,
                inputs={name: round(value, 3) for name, value in features.named().items()},
                drivers=drivers,
                details={
                    "model": {"name": "logistic regression on real CGM traces", "horizon_min": minutes},
                    "forecast": {
                        "method": "Nightscout AR2",
                        "horizon_min": 30,
                        "at_horizon": round(features.forecast_30, 1),
                    },
                },
            ),
            series=Series.GLUCOSE_CGM,
        )

    def _drivers(self, features: Features) -> list[dict[str, Any]]:
        """The inputs that raised the risk most, merged by what they mean to a reader."""
        pushed: dict[str, float] = {}
        for name, part in zip(NAMES, self.model.contributions(features.vector), strict=True):
            label = _LABELS[name]
            pushed[label] = pushed.get(label, 0.0) + part
        ranked = sorted(pushed.items(), key=lambda item: -item[1])
        return [{"input": label, "log_odds": round(part, 2)} for label, part in ranked[:3] if part > 0]
