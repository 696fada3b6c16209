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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from monitoring.catalogue import SERIES, Series
from monitoring.detection.base import PatientContext
from monitoring.detection.detectors.personal.baseline import PersonalBaseline, bin_start, two_sided
from monitoring.detection.detectors.personal.fever import INPUTS as FEVER_INPUTS
from monitoring.detection.detectors.personal.fever import Departure, FebrilePattern, FeverRules
from monitoring.detection.explain import Explanation, finding, fmt, when
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.perpatient import PatientStates, Stateful
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Severity


@dataclass(frozen=True, slots=True)
class SeriesModel:
    bins: int = 6
    floor_sd: float = 1.0
    warmup_count: int = 30
    warmup_span: timedelta = timedelta(days=2)
    level_tau: timedelta = timedelta(hours=12)
    fresh: timedelta = timedelta(hours=3)  # a level older than this does not vote
    trend_unit: float | None = None  # departure worth one point of trend score ...
    trend_sign: int = 1  # ... in this direction (+1: up is bad)


MODELS: dict[Series, SeriesModel] = {
    Series.HEART_RATE: SeriesModel(floor_sd=3.0, trend_unit=4.0, warmup_span=timedelta(days=1)),
    Series.RESPIRATORY_RATE: SeriesModel(floor_sd=1.0, trend_unit=1.5),
    Series.SPO2: SeriesModel(floor_sd=1.0, trend_unit=1.0, trend_sign=-1),
    Series.SKIN_TEMPERATURE: SeriesModel(floor_sd=0.3, trend_unit=0.4, warmup_span=timedelta(days=1)),
    Series.BODY_WEIGHT: SeriesModel(
        bins=1,
        floor_sd=0.5,
        warmup_count=5,
        warmup_span=timedelta(days=4),
        level_tau=timedelta(days=1.5),
        fresh=timedelta(hours=36),
        trend_unit=0.8,
    ),
    Series.BODY_TEMPERATURE: SeriesModel(bins=1, floor_sd=0.2, warmup_count=6),
    Series.BP_SYSTOLIC: SeriesModel(bins=2, floor_sd=5.0, warmup_count=6, warmup_span=timedelta(days=3)),
    Series.BP_DIASTOLIC: SeriesModel(bins=2, floor_sd=4.0, warmup_count=6, warmup_span=timedelta(days=3)),
    Series.GLUCOSE_CGM: SeriesModel(floor_sd=10.0),
    Series.GLUCOSE_METER: SeriesModel(bins=1, floor_sd=10.0, warmup_count=8),
    Series.STEPS: SeriesModel(bins=1, floor_sd=500.0, warmup_count=5, warmup_span=timedelta(days=5)),
}


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
class _Level:
    value: float = 0.0
    at: float = 0.0  # epoch seconds
    short: float = 0.0  # faster level (SpO2 drop, febrile pattern)

    def update(self, departure: float, at: float, tau: float, short_tau: float) -> None:
        if self.at == 0.0:
            self.value = self.short = departure
        else:
            dt = max(at - self.at, 0.0)
            self.value += (1 - math.exp(-dt / tau)) * (departure - self.value)
            self.short += (1 - math.exp(-dt / short_tau)) * (departure - self.short)
        self.at = at


@dataclass(slots=True)
class _Patient:
    models: dict[Series, PersonalBaseline] = field(default_factory=dict)
    levels: dict[Series, _Level] = field(default_factory=dict)
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
            state.levels[Series(int(key))] = _Level(value, at, short)
        state.trend_score = data["trend_score"]
        return state


_GENERIC = SeriesModel()
# What the hot path reads of each series' model, in seconds: its level's memory, and for the
# inputs of the trend score, (unit, sign, freshness).
_LEVEL_TAU_S = {series: spec.level_tau.total_seconds() for series, spec in MODELS.items()}
_GENERIC_TAU_S = _GENERIC.level_tau.total_seconds()
_TREND = {
    series: (spec.trend_unit, spec.trend_sign, spec.fresh.total_seconds())
    for series, spec in MODELS.items()
    if spec.trend_unit is not None
}
_TREND_ITEMS = tuple((series, *trend) for series, trend in _TREND.items())


def new_model(series: Series) -> PersonalBaseline:
    spec = MODELS.get(series, _GENERIC)
    return PersonalBaseline(
        bins=spec.bins,
        floor_sd=spec.floor_sd,
        warmup_count=spec.warmup_count,
        warmup_span=spec.warmup_span,
    )


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
                level = state.levels[series] = _Level()
            level.update(value - usual[0], now, _LEVEL_TAU_S.get(series, _GENERIC_TAU_S), self._short_tau_s)
            if series is Series.SPO2:
                found += self._spo2_drop(state, obs, usual[0])
            if series in _TREND:
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

    def _contributions(self, state: _Patient, now: float) -> list[tuple[Series, float, float]]:
        """(series, departure, contribution) of each fresh input pulling away from usual, the
        contribution capped and rounded to the hundredth the explanation shows (and the score adds)."""
        cap, fever = self.rules.trend_cap, state.fever.active
        found: list[tuple[Series, float, float]] = []
        for series, level in state.levels.items():
            trend = _TREND.get(series)
            if trend is None or now - level.at > trend[2]:
                continue
            if fever and series in FEVER_INPUTS:
                continue  # explained by the open febrile pattern: only the other inputs vote
            contribution = trend[1] * level.value / trend[0]
            if contribution > 0:
                found.append((series, level.value, round(contribution if contribution < cap else cap, 2)))
        return found

    def _scores(self, state: _Patient, now: float) -> list[float]:
        """The contributions ``_contributions`` gives, alone: what every reading of a trend input
        needs (the series and departures only when an episode opens or closes)."""
        cap, fever, levels = self.rules.trend_cap, state.fever.active, state.levels
        found: list[float] = []
        for series, unit, sign, fresh in _TREND_ITEMS:
            level = levels.get(series)
            if level is None or now - level.at > fresh or (fever and series in FEVER_INPUTS):
                continue
            contribution = sign * level.value / unit
            if contribution > 0:
                found.append(round(contribution if contribution < cap else cap, 2))
        return found

    @staticmethod
    def _drivers(
        state: _Patient, obs: Observation, contributions: list[tuple[Series, float, float]]
    ) -> list[dict[str, Any]]:
        """The contributions as the explanation lists them, largest first, each with the usual it left."""
        drivers: list[dict[str, Any]] = []
        for series, departure, contribution in contributions:
            usual = state.models[series].usual(obs.at)
            drivers.append(
                {
                    "series": series.key,
                    "departure": round(departure, 2),
                    "unit": SERIES[series].unit,
                    "usual": None if usual is None else round(usual[0], 2),
                    "contribution": contribution,
                }
            )
        drivers.sort(key=lambda d: -float(d["contribution"]))
        return drivers

    def _deterioration(self, state: _Patient, obs: Observation, now: float) -> list[Finding]:
        # On every reading only the score; the drivers' explanation only when an episode opens or closes.
        r = self.rules
        # Added largest first, as the explanation lists them (the same float, to the last bit).
        ranked = sorted(self._scores(state, now), reverse=True)
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
        drivers = self._drivers(state, obs, self._contributions(state, now))
        named = ", ".join(
            f"{d['series'].replace('_', ' ')} {'+' if d['departure'] >= 0 else ''}"
            f"{fmt(d['departure'])} {d['unit']}"
            for d in drivers[:4]
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
                    baseline={d["series"]: d["usual"] for d in drivers},
                    drivers=drivers,
                    details={
                        "model": "per-patient time-of-day baseline (river AnomalyDetector) "
                        "+ smoothed departures",
                        "forecast": {"kind": "trend", "horizon": "days before fixed limits"},
                    },
                ),
            )
        ]
