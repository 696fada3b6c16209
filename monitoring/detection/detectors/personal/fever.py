"""A febrile pattern from a wearable: skin temperature and heart rate up together, against the patient.

Many patients at home wear a wrist device but never use a thermometer. Fever
shows there as a rise of wrist skin temperature (damped: about half to two
thirds of the core rise) with a faster resting heart rate (roughly 10 /min per
degree). Either alone is common (a warm room, a walk); both at once, held for
hours against the patient's own time-of-day baseline, is worth a call to ask
for a thermometer reading. The inputs are the per-patient models' one-hour
departure levels (``models._Level.short``), so the rule inherits their warm-up
and never learns from the episode it reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from monitoring.catalogue import Series
from monitoring.detection.explain import Explanation, finding, fmt, when
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Severity

ALERT_TYPE = "personal.febrile_pattern"
INPUTS = (Series.SKIN_TEMPERATURE, Series.HEART_RATE)


@dataclass(frozen=True, slots=True)
class FeverRules:
    skin_rise: float = 0.6  # degC above usual (one-hour level) ...
    heart_rise: float = 8.0  # ... and /min above usual, both at once
    skin_recovered: float = 0.3  # the episode ends below this skin departure
    persist: timedelta = timedelta(hours=2)
    end_after: timedelta = timedelta(hours=3)
    fresh: timedelta = timedelta(minutes=30)  # both inputs measured this recently


class Departure(NamedTuple):
    """One input's one-hour departure from the patient's usual, and when it was last updated.

    A named tuple: two are made for every heart-rate and skin-temperature reading.
    """

    series: Series
    departure: float
    usual: float
    at_s: float


class FebrilePattern:
    """Turns the skin-temperature and heart-rate departures into a persisted episode.

    >>> from datetime import UTC, datetime
    >>> from uuid import UUID
    >>> from monitoring.detection.tracker import EpisodeState
    >>> pattern, episode = FebrilePattern(detector="personal_model"), EpisodeState()
    >>> t0 = datetime(2026, 1, 1, 8, tzinfo=UTC)
    >>> def at(minute: int, skin_up: float, heart_up: float) -> list[Finding]:
    ...     when = t0 + timedelta(minutes=minute)
    ...     obs = Observation(UUID(int=1), Series.SKIN_TEMPERATURE, when, 34.0, UUID(int=2))
    ...     skin = Departure(Series.SKIN_TEMPERATURE, skin_up, 33.2, when.timestamp())
    ...     heart = Departure(Series.HEART_RATE, heart_up, 70.0, when.timestamp())
    ...     return pattern.step(episode, obs, skin, heart)
    >>> [f.kind.value for m in range(0, 181, 10) for f in at(m, 0.8, 11.0)]  # both up for 2 h
    ['open']
    >>> [f.kind.value for m in range(190, 400, 10) for f in at(m, 0.1, 2.0)]  # back within 0.3 for 3 h
    ['clear']
    """

    def __init__(self, rules: FeverRules | None = None, *, detector: str) -> None:
        self.rules = rules or FeverRules()
        self.detector = detector  # the name of the detector whose levels it reads
        self._episodes = Persistence(start_after=self.rules.persist, end_after=self.rules.end_after)
        self._fresh_s = self.rules.fresh.total_seconds()

    def step(
        self,
        episode: EpisodeState,
        obs: Observation,
        skin: Departure | None,
        heart: Departure | None,
        now: float | None = None,
    ) -> list[Finding]:
        """``now``: ``obs.at`` in epoch seconds, when the caller has it already."""
        r = self.rules
        if skin is None or heart is None:
            return []
        limit = self._fresh_s
        if now is None:
            now = obs.at.timestamp()
        if now - skin.at_s > limit or now - heart.at_s > limit:
            return []  # one of them has not been measured lately: not "together"
        if skin.departure >= r.skin_rise and heart.departure >= r.heart_rise:
            step = self._episodes.step(episode, obs.at, True)
        elif skin.departure < r.skin_recovered:
            step = self._episodes.step(episode, obs.at, False)
        else:
            step = None
        if step is None or step[0] == "update":
            return []
        kind, started = step
        summary = (
            f"Possible fever: wrist skin temperature {fmt(skin.departure)} degC and heart rate "
            f"{fmt(heart.departure)} /min above this patient's usual for this time of day, together "
            f"since {when(started)}; ask for a thermometer reading."
            if kind == "open"
            else f"Skin temperature back within {fmt(r.skin_recovered)} degC of usual as of {when(obs.at)}."
        )
        drivers: list[dict[str, Any]] = [
            {"series": d.series.key, "departure": round(d.departure, 2), "usual": round(d.usual, 2)}
            for d in (skin, heart)
        ]
        return [
            finding(
                detector=self.detector,
                patient_id=obs.patient_id,
                alert_type=ALERT_TYPE,
                step=kind,
                started=started,
                at=obs.at,
                severity=Severity.MEDIUM,
                summary=summary,
                explanation=Explanation(
                    rule=f"one-hour skin temperature >= {fmt(r.skin_rise)} degC and heart rate >= "
                    f"{fmt(r.heart_rise)} /min above personal baseline, together for {r.persist}",
                    observed=[{"at": obs.at.isoformat(), "series": obs.series.key, "value": obs.value}],
                    threshold={"skin_rise": r.skin_rise, "heart_rise": r.heart_rise},
                    baseline={d["series"]: d["usual"] for d in drivers},
                    drivers=drivers,
                    details={
                        "model": "per-patient time-of-day baseline (river AnomalyDetector) "
                        "+ one-hour departures"
                    },
                ),
                series=Series.SKIN_TEMPERATURE,
            )
        ]
