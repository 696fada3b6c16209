"""Per-patient online models: each patient against their own usual, not a population limit.

For every series a ``PersonalBaseline`` (river protocol) scores each reading
before learning from it. Each reading's departure from the patient's usual
value at that time of day is smoothed into a slow "level" (hours to days), and
two alerts come from those levels:

- ``personal.spo2_drop``: SpO2 three points or more below the patient's usual
  for an hour (BTS: a fall of >= 3 points from baseline warrants review);
- ``personal.deterioration``: several vital signs trending the wrong way
  together (weight, resting heart rate and breathing rate up, SpO2 down, skin
  temperature up), as in heart-failure decompensation days before any fixed
  limit is crossed. Each input contributes its departure in clinical units
  (e.g. 4 beats/min, 0.8 kg), capped, and the alert names what drove it.

Models never learn from a reading they score as extreme, from a series
another detector has flagged, or while the patient is trending: a slow
deterioration must not become the new normal. State is about 0.5 KiB per
patient and series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.detectors.personal.baseline import PersonalBaseline, bin_start, two_sided
from monitoring.detection.detectors.personal.fever import INPUTS as FEVER_INPUTS
from monitoring.detection.detectors.personal.fever import Departure, FebrilePattern, FeverRules
from monitoring.detection.detectors.personal.series import Level, level_tau_s, new_model
from monitoring.detection.detectors.personal.trend import TREND_SERIES, contributions, drivers
from monitoring.detection.explain import Explanation, finding, fmt, when
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.perpatient import PatientStates, Stateful
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Severity


@dataclass(frozen=True, slots=True)
class ModelRules:
    learn_below_z: float = 4.0  # never learn from a reading this far from usual
    clip_z: float = 3.0  # learn at most this far from usual (a robust update)
    spo2_drop: float = 3.0
    spo2_recovered: float = 1.5
    short_tau: timedelta = timedelta(hours=1)  # the one-hour level (SpO2 drop, febrile pattern)
    spo2_persist: timedelta = timedelta(hours=1)
    trend_cap: float = 3.0
    trend_score: float = 4.0  # sum of capped contributions that is a trend ...
    trend_inputs: int = 2  # ... with at least this many inputs contributing >= 1
    trend_clear: float = 2.0
    trend_persist: timedelta = timedelta(hours=4)
    trend_end: timedelta = timedelta(hours=12)
    freeze_at: float = 0.5  # stop learning once the trend score reaches this share of trend_score


@dataclass(slots=True)
class _Patient:
    models: dict[Series, PersonalBaseline] = field(default_factory=dict)
    levels: dict[Series, Level] = field(default_factory=dict)
    zs: dict[Series, float | None] = field(default_factory=dict)  # the last reading's z, per series
    drop: EpisodeState = field(default_factory=EpisodeState)
    trend: EpisodeState = field(default_factory=EpisodeState)
    fever: EpisodeState = field(default_factory=EpisodeState)
    trend_score: float = 0.0

    def dump(self) -> dict[str, Any]:
        return {
            "models": {str(int(s)): m.dump() for s, m in self.models.items()},
            "levels": {str(int(s)): [lv.value, lv.at, lv.short] for s, lv in self.levels.items()},
            "drop": self.drop.dump(),
            "trend": self.trend.dump(),
            "fever": self.fever.dump(),
            "trend_score": self.trend_score,
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> _Patient:
        state = cls(drop=EpisodeState.load(data["drop"]), trend=EpisodeState.load(data["trend"]))
        if "fever" in data:  # checkpoints from before the febrile pattern have none
            state.fever = EpisodeState.load(data["fever"])
        for key, dumped in data["models"].items():
            series = Series(int(key))
            state.models[series] = new_model(series)
            state.models[series].load(dumped)
        for key, (value, at, short) in data["levels"].items():
            state.levels[Series(int(key))] = Level(value, at, short)
        state.trend_score = data["trend_score"]
        return state


class PersonalModels(Stateful[_Patient]):
    """Per-patient models of each vital sign's usual by time of day, and the alerts they raise.

    It scores every reading against the patient's own usual before learning it
    (river's protocol), keeps short smoothed departures per series, and raises
    an SpO2 drop, a joint drift of several vitals (early deterioration) and,
    through ``FebrilePattern``, a possible fever. It does not learn from a
    series some detector currently flags.

    >>> from datetime import UTC, datetime, timedelta
    >>> from uuid import UUID
    >>> from monitoring.detection.base import PatientContext
    >>> models, patient = PersonalModels(), UUID(int=1)
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> for minute in range(0, 2 * 24 * 60, 5):  # two ordinary days of heart rate
    ...     obs = Observation(patient, Series.HEART_RATE, t0 + timedelta(minutes=minute), 70.0, UUID(int=2))
    ...     _ = models.observe(obs, PatientContext(patient))
    >>> models.warm(patient, Series.HEART_RATE)
    True
    >>> models.last_score(patient, Series.HEART_RATE) < 0.5
    True
    """

    name = "personal_model"

    def __init__(self, rules: ModelRules | None = None, fever: FeverRules | None = None) -> None:
        self.rules = rules or ModelRules()
        r = self.rules
        self._drop = Persistence(start_after=r.spo2_persist, end_after=r.spo2_persist)
        self._trend = Persistence(start_after=r.trend_persist, end_after=r.trend_end)
        self._fever = FebrilePattern(fever, detector=self.name)
        self._short_tau_s = r.short_tau.total_seconds()
        self._freeze_score = r.freeze_at * r.trend_score
        self._states = PatientStates(_Patient, _Patient.load)

    def last_score(self, patient_id: UUID, series: Series) -> float:
        """The anomaly score of the patient's latest reading of ``series`` (before learning it)."""
        z = self._states(patient_id).zs.get(series)
        return 0.0 if z is None else two_sided(z)

    def last_z(self, patient_id: UUID, series: Series) -> float | None:
        """The latest reading's departure from the patient's usual, in standard deviations."""
        return self._states(patient_id).zs.get(series)

    def warm(self, patient_id: UUID, series: Series) -> bool:
        """Whether the patient's model of ``series`` has left warm-up."""
        model = self._states(patient_id).models.get(series)
        return model is not None and model.warm

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        obs, r = observation, self.rules
        state = self._states(obs.patient_id)
        series, value, now = obs.series, obs.value, obs.at.timestamp()
        model = state.models.get(series)
        if model is None:
            model = state.models[series] = new_model(series)
        start = bin_start(now, model.bins)  # the time-of-day bin, for scoring and learning
        usual = model.usual_in(start, now)
        z = None if usual is None else (value - usual[0]) / usual[1]
        state.zs[series] = z
        found: list[Finding] = []
        if usual is not None:
            level = state.levels.get(series)
            if level is None:
                level = state.levels[series] = Level()
            level.update(value - usual[0], now, level_tau_s(series), self._short_tau_s)
            if series is Series.SPO2:
                found += self._spo2_drop(state, obs, usual[0])
            if series in TREND_SERIES:
                found += self._deterioration(state, obs, now)
            if series in FEVER_INPUTS:  # this input's departure is known; the other one's is looked up
                own = Departure(series, level.short, usual[0], level.at)
                skin_now = series is Series.SKIN_TEMPERATURE
                other = self._departure(
                    state, Series.HEART_RATE if skin_now else Series.SKIN_TEMPERATURE, now
                )
                skin, heart = (own, other) if skin_now else (other, own)
                found += self._fever.step(state.fever, obs, skin, heart, now)
        learnable = (
            (z is None or abs(z) < r.learn_below_z)
            and not context.flagged.get(series)  # ``is_flagged``, inline: this runs for every reading
            and state.trend.active_since is None  # ``active``, inline
            and state.trend_score < self._freeze_score
            and state.drop.active_since is None
            and state.fever.active_since is None
        )
        if learnable:
            if usual is not None:  # a robust update: at most clip_z from usual
                value = min(max(value, usual[0] - r.clip_z * usual[1]), usual[0] + r.clip_z * usual[1])
            model.learn_in(start, value, now)
        return found

    @staticmethod
    def _departure(state: _Patient, series: Series, now: float) -> Departure | None:
        level, model = state.levels.get(series), state.models.get(series)
        usual = None if model is None else model.usual_at(now)
        if level is None or usual is None:
            return None
        return Departure(series, level.short, usual[0], level.at)

    def _spo2_drop(self, state: _Patient, obs: Observation, usual: float) -> list[Finding]:
        r = self.rules
        drop = -state.levels[Series.SPO2].short
        if drop >= r.spo2_drop:
            step = self._drop.step(state.drop, obs.at, True)
        elif drop <= r.spo2_recovered:
            step = self._drop.step(state.drop, obs.at, False)
        else:
            step = None
        if step is None or step[0] == "update":
            return []
        kind, started = step
        summary = (
            f"SpO2 {fmt(drop)} points below this patient's usual {fmt(usual)} % for over an hour "
            f"(since {when(started)}; now {fmt(obs.value)} %)."
            if kind == "open"
            else f"SpO2 back within {fmt(r.spo2_recovered)} points of usual as of {when(obs.at)}."
        )
        return [
            finding(
                detector=self.name,
                patient_id=obs.patient_id,
                alert_type="personal.spo2_drop",
                step=kind,
                started=started,
                at=obs.at,
                severity=Severity.HIGH,
                summary=summary,
                explanation=Explanation(
                    rule=f"1-hour SpO2 level >= {fmt(r.spo2_drop)} points below personal baseline "
                    f"for {r.spo2_persist}",
                    series=Series.SPO2.key,
                    observed=[{"at": obs.at.isoformat(), "value": obs.value}],
                    baseline={"usual": round(usual, 2)},
                    score={"drop_points": round(drop, 2)},
                    threshold={"drop_points": r.spo2_drop, "recovered_points": r.spo2_recovered},
                    drivers=[{"series": Series.SPO2.key, "departure": round(-drop, 2), "unit": "%"}],
                ),
                series=Series.SPO2,
            )
        ]

    def _deterioration(self, state: _Patient, obs: Observation, now: float) -> list[Finding]:
        # On every reading only the score; the drivers' explanation only when an episode opens or closes.
        r = self.rules
        # An open febrile pattern explains its inputs' departures: only the other inputs vote.
        found = contributions(state.levels, now, r.trend_cap, FEVER_INPUTS if state.fever.active else ())
        # Added largest first, as the explanation lists them (the same float, to the last bit).
        ranked = sorted([contribution for _, _, contribution in found], reverse=True)
        score = sum(ranked)
        state.trend_score = score
        voting = len([contribution for contribution in ranked if contribution >= 1.0])
        if score >= r.trend_score and voting >= r.trend_inputs:
            step = self._trend.step(state.trend, obs.at, True)
        elif score < r.trend_clear:
            step = self._trend.step(state.trend, obs.at, False)
        else:
            step = None
        if step is None or step[0] == "update":
            return []
        kind, started = step
        listed = drivers(found, state.models, obs.at)
        named = ", ".join(
            f"{d['series'].replace('_', ' ')} {'+' if d['departure'] >= 0 else ''}"
            f"{fmt(d['departure'])} {d['unit']}"
            for d in listed[:4]
        )
        summary = (
            f"Vital signs trending away from this patient's usual together since {when(started)}: {named} "
            f"(trend score {fmt(score)}, alert at {fmt(r.trend_score)}); possible early deterioration."
            if kind == "open"
            else f"Vital signs back near this patient's usual as of {when(obs.at)} "
            f"(trend score {fmt(score)})."
        )
        return [
            finding(
                detector=self.name,
                patient_id=obs.patient_id,
                alert_type="personal.deterioration",
                step=kind,
                started=started,
                at=obs.at,
                severity=Severity.HIGH,
                summary=summary,
                explanation=Explanation(
                    rule=f"sum of capped departures >= {fmt(r.trend_score)} with >= {r.trend_inputs} "
                    f"inputs for {r.trend_persist}",
                    observed=[{"at": obs.at.isoformat(), "series": obs.series.key, "value": obs.value}],
                    threshold={"score": r.trend_score, "inputs": r.trend_inputs},
                    score=round(score, 2),
                    baseline={d["series"]: d["usual"] for d in listed},
                    drivers=listed,
                    details={
                        "model": "per-patient time-of-day baseline (river AnomalyDetector) "
                        "+ smoothed departures",
                        "forecast": {"kind": "trend", "horizon": "days before fixed limits"},
                    },
                ),
            )
        ]
