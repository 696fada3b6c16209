"""Home blood pressure: hypertensive crisis, confirmed by a repeat reading, and the home-BP category.

Crisis (ACC/AHA 2017): systolic > 180 and/or diastolic > 120 mmHg. A single
high reading at home is often a cuff or posture error, and guidance is to
re-measure, so two qualifying readings within an hour open the alert. It ends
on a reading at or below 160/100.

The home category uses the mean of the last 7 days (home 135/85 corresponds to
office 140/90; 130/80 to 130/80).

>>> home_category(118, 76), home_category(126, 78), home_category(131, 82), home_category(138, 84)
('normal', 'elevated', 'stage 1', 'stage 2')
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.explain import Explanation, finding, fmt, when
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.perpatient import PatientStates, Stateful
from monitoring.detection.state import need_time
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Severity


def home_category(systolic: float, diastolic: float) -> str:
    """ACC/AHA category with home-BP equivalents (stage 2 at home: >= 135 or >= 85)."""
    if systolic >= 135 or diastolic >= 85:
        return "stage 2"
    if systolic >= 130 or diastolic >= 80:
        return "stage 1"
    if systolic >= 120:
        return "elevated"
    return "normal"


@dataclass(frozen=True, slots=True)
class PressureRules:
    crisis_systolic: float = 180.0
    crisis_diastolic: float = 120.0
    confirm_within: timedelta = timedelta(hours=1)
    readings_to_confirm: int = 2
    end_systolic: float = 160.0
    end_diastolic: float = 100.0
    category_window: timedelta = timedelta(days=7)
    category_min_readings: int = 4


@dataclass(slots=True)
class _Pressure:
    systolic: tuple[datetime, float] | None = None
    pairs: deque[tuple[datetime, float, float]] = field(default_factory=lambda: deque(maxlen=40))
    crisis: EpisodeState = field(default_factory=EpisodeState)

    def dump(self) -> dict[str, Any]:
        return {
            "systolic": None if self.systolic is None else [self.systolic[0].isoformat(), self.systolic[1]],
            "pairs": [[at.isoformat(), s, d] for at, s, d in self.pairs],
            "crisis": self.crisis.dump(),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> _Pressure:
        state = cls(crisis=EpisodeState.load(data["crisis"]))
        if data["systolic"] is not None:
            state.systolic = (need_time(data["systolic"][0]), data["systolic"][1])
        state.pairs.extend((need_time(at), s, d) for at, s, d in data["pairs"])
        return state


class BloodPressure(Stateful[_Pressure]):
    name = "blood_pressure"
    series = frozenset({Series.BP_SYSTOLIC, Series.BP_DIASTOLIC})

    def __init__(self, rules: PressureRules | None = None) -> None:
        self.rules = rules or PressureRules()
        self._episodes = Persistence(
            start_count=self.rules.readings_to_confirm, max_gap=self.rules.confirm_within
        )
        self._states = PatientStates(_Pressure, _Pressure.load)

    def category(self, state: _Pressure, now: datetime) -> dict[str, Any] | None:
        recent = [(s, d) for at, s, d in state.pairs if now - at <= self.rules.category_window]
        if len(recent) < self.rules.category_min_readings:
            return None
        systolic = sum(s for s, _ in recent) / len(recent)
        diastolic = sum(d for _, d in recent) / len(recent)
        return {
            "category": home_category(systolic, diastolic),
            "mean_systolic": round(systolic, 1),
            "mean_diastolic": round(diastolic, 1),
            "readings": len(recent),
            "days": self.rules.category_window.days,
        }

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        obs, r = observation, self.rules
        if obs.series is Series.BP_SYSTOLIC:
            self._states(obs.patient_id).systolic = (obs.at, obs.value)
            return ()
        if obs.series is not Series.BP_DIASTOLIC:
            return ()
        state = self._states(obs.patient_id)
        if state.systolic is None or state.systolic[0] != obs.at:
            return ()
        systolic, diastolic = state.systolic[1], obs.value
        usual = self.category(state, obs.at)
        state.pairs.append((obs.at, systolic, diastolic))
        if systolic > r.crisis_systolic or diastolic > r.crisis_diastolic:
            step = self._episodes.step(state.crisis, obs.at, True)
        elif systolic <= r.end_systolic and diastolic <= r.end_diastolic:
            step = self._episodes.step(state.crisis, obs.at, False)
        else:
            step = None
        if step is None:
            return ()
        kind, started = step
        return [self._finding(kind, started, obs, state, systolic, diastolic, usual)]

    def _finding(
        self,
        kind: str,
        started: datetime,
        obs: Observation,
        state: _Pressure,
        systolic: float,
        diastolic: float,
        usual: dict[str, Any] | None,
    ) -> Finding:
        r = self.rules
        window = [(at, s, d) for at, s, d in state.pairs if at >= started]
        readings = ", ".join(f"{fmt(s)}/{fmt(d)}" for _, s, d in window[-4:])
        summary = (
            f"Hypertensive crisis: {len(window)} readings above {fmt(r.crisis_systolic)}/"
            f"{fmt(r.crisis_diastolic)} mmHg since {when(started)} ({readings} mmHg)"
            + (f"; usual home BP {usual['mean_systolic']:g}/{usual['mean_diastolic']:g}" if usual else "")
            + "."
            if kind != "clear"
            else f"Blood pressure {fmt(systolic)}/{fmt(diastolic)} mmHg at {when(obs.at)}: "
            f"below {fmt(r.end_systolic)}/{fmt(r.end_diastolic)} again."
        )
        return finding(
            detector=self.name,
            patient_id=obs.patient_id,
            alert_type="bp.crisis",
            step=kind,
            started=started,
            at=obs.at,
            severity=Severity.CRITICAL,
            summary=summary,
            explanation=Explanation(
                rule=f"systolic > {fmt(r.crisis_systolic)} and/or diastolic > "
                f"{fmt(r.crisis_diastolic)} mmHg on {r.readings_to_confirm} readings "
                f"within {r.confirm_within}",
                series="blood_pressure",
                observed=[{"at": at.isoformat(), "systolic": s, "diastolic": d} for at, s, d in window[-10:]],
                threshold={
                    "systolic": r.crisis_systolic,
                    "diastolic": r.crisis_diastolic,
                    "unit": "mm[Hg]",
                },
                baseline=usual,
            ),
            series=Series.BP_SYSTOLIC,
        )
