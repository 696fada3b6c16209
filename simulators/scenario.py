"""What happens to each patient and device over the simulated period, with ground truth.

Clinical events arrive as Poisson processes at condition-specific rates; daily
life (meals, exercise) and artefacts are labelled as non-events so that false
alerts can be counted against them; device faults are labelled too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from devices.kinds import DeviceKind
from simulators.episodes import Effect, Episode
from simulators.profiles import (
    ATRIAL_FIBRILLATION,
    COPD,
    HEART_FAILURE,
    HYPERTENSION,
    TYPE1_DIABETES,
    TYPE2_DIABETES,
    Profile,
)

WEEK = timedelta(days=7)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def poisson_times(rng: random.Random, start: datetime, end: datetime, per_week: float) -> Iterator[datetime]:
    """Arrival times of a Poisson process with ``per_week`` expected arrivals a week."""
    if per_week <= 0:
        return
    at = start
    while True:
        at += timedelta(seconds=rng.expovariate(per_week / WEEK.total_seconds()))
        if at >= end:
            return
        yield at


Builder = Callable[[Profile, datetime, random.Random], Episode]


def _ep(profile: Profile, type_: str, at: datetime, length: timedelta, **kw: object) -> Episode:
    return Episode(type=type_, kind="event", patient=profile.patient, start=at, end=at + length, **kw)  # type: ignore[arg-type]


def hypoglycaemia_level1(p: Profile, at: datetime, rng: random.Random) -> Episode:
    return _ep(
        p,
        "hypoglycaemia_l1",
        at,
        rng.uniform(105, 140) * M,  # 45 min falling, 15-50 min low, 45 min recovering
        severity="level1",
        onset=45 * M,  # real falls into a low run at 1-2 mg/dL a minute (cgm_realism)
        effects=(Effect("glucose", target=rng.uniform(56, 65)),),
        metrics=("glucose_cgm", "glucose_meter"),
    )


def hypoglycaemia_level2(p: Profile, at: datetime, rng: random.Random) -> Episode:
    return _ep(
        p,
        "hypoglycaemia_l2",
        at,
        rng.uniform(115, 160) * M,
        severity="level2",
        onset=50 * M,
        effects=(Effect("glucose", target=rng.uniform(38, 50)), Effect("heart_rate", shift=12)),
        metrics=("glucose_cgm", "glucose_meter", "heart_rate"),
    )


def hyperglycaemia(p: Profile, at: datetime, rng: random.Random) -> Episode:
    return _ep(
        p,
        "hyperglycaemia",
        at,
        rng.uniform(2.5, 6) * H,
        severity="high",
        onset=45 * M,
        effects=(Effect("glucose", target=rng.uniform(290, 360)),),
        metrics=("glucose_cgm", "glucose_meter"),
    )


def hypertensive_crisis(p: Profile, at: datetime, rng: random.Random) -> Episode:
    rise = rng.uniform(55, 75)
    return _ep(
        p,
        "hypertensive_crisis",
        at,
        rng.uniform(2, 5) * H,
        severity="high",
        onset=20 * M,
        effects=(
            Effect("systolic", shift=rise),
            Effect("diastolic", shift=rise * 0.5),
            Effect("heart_rate", shift=8),
        ),
        recheck=(DeviceKind.BP_CUFF.value, 20 * M),
        metrics=("blood_pressure",),
    )


def hypotension(p: Profile, at: datetime, rng: random.Random) -> Episode:
    return _ep(
        p,
        "symptomatic_hypotension",
        at,
        rng.uniform(1.5, 4) * H,
        severity="high",
        onset=20 * M,
        effects=(
            Effect("systolic", target=rng.uniform(76, 86)),
            Effect("diastolic", target=rng.uniform(44, 52)),
            Effect("heart_rate", shift=15),
        ),
        recheck=(DeviceKind.BP_CUFF.value, 20 * M),
        metrics=("blood_pressure", "heart_rate"),
    )


def hf_decompensation(p: Profile, at: datetime, rng: random.Random) -> Episode:
    """Fluid builds up over days: weight first, then heart and breathing rate, then SpO2."""
    days = rng.uniform(5, 9)
    return _ep(
        p,
        "hf_decompensation",
        at,
        days * 24 * H,
        severity="high",
        shape="ramp",
        effects=(
            Effect("body_weight", shift=rng.uniform(3.0, 5.0)),
            Effect("heart_rate", shift=rng.uniform(12, 20)),
            Effect("respiratory_rate", shift=rng.uniform(5, 8)),
            Effect("spo2", shift=-rng.uniform(3, 5)),
            Effect("steps", shift=-0.5 * p.daily_steps),
        ),
        metrics=("body_weight", "heart_rate", "respiratory_rate", "spo2"),
        detail={"peak": (at + days * 24 * H).isoformat()},
    )


def copd_exacerbation(p: Profile, at: datetime, rng: random.Random) -> Episode:
    return _ep(
        p,
        "copd_exacerbation",
        at,
        rng.uniform(2, 5) * 24 * H,
        severity="high",
        onset=12 * H,
        effects=(
            Effect("spo2", shift=-rng.uniform(4, 6)),
            Effect("respiratory_rate", shift=rng.uniform(6, 9)),
            Effect("heart_rate", shift=rng.uniform(10, 18)),
            Effect("body_temperature", shift=0.4),
            Effect("steps", shift=-0.6 * p.daily_steps),
        ),
        metrics=("spo2", "respiratory_rate", "heart_rate"),
    )


def af_episode(p: Profile, at: datetime, rng: random.Random) -> Episode:
    return _ep(
        p,
        "af_rapid_ventricular_response",
        at,
        rng.uniform(1, 8) * H,
        severity="high",
        onset=2 * M,
        effects=(Effect("heart_rate", target=rng.uniform(118, 145), extra_sd=14),),
        metrics=("heart_rate",),
    )


def fever(p: Profile, at: datetime, rng: random.Random) -> Episode:
    rise = rng.uniform(1.5, 2.3)
    return _ep(
        p,
        "fever",
        at,
        rng.uniform(1, 3) * 24 * H,
        severity="medium",
        onset=4 * H,
        effects=(
            Effect("body_temperature", shift=rise),
            Effect("skin_temperature", shift=rise * 0.6),
            Effect("heart_rate", shift=10 * rise),
            Effect("respiratory_rate", shift=2),
        ),
        metrics=("body_temperature", "skin_temperature", "heart_rate"),
    )


def bradycardia(p: Profile, at: datetime, rng: random.Random) -> Episode:
    return _ep(
        p,
        "bradycardia",
        at,
        rng.uniform(1, 5) * H,
        severity="high",
        onset=5 * M,
        effects=(Effect("heart_rate", target=rng.uniform(33, 40)),),
        metrics=("heart_rate",),
    )


# Expected events a week by condition (everyone also gets the "any" rates).
EVENT_RATES: dict[str, tuple[tuple[Builder, float], ...]] = {
    "any": ((fever, 0.05), (bradycardia, 0.03)),
    # Type 1 lows: the real type 1 traces (D1NAMO) show about 8 CGM hypoglycaemias a week.
    TYPE1_DIABETES: ((hypoglycaemia_level1, 4.5), (hypoglycaemia_level2, 1.0), (hyperglycaemia, 0.8)),
    TYPE2_DIABETES: ((hypoglycaemia_level1, 0.1), (hyperglycaemia, 0.3)),
    HYPERTENSION: ((hypertensive_crisis, 0.25), (hypotension, 0.1)),
    HEART_FAILURE: ((hf_decompensation, 0.25), (hypotension, 0.05)),
    COPD: ((copd_exacerbation, 0.3),),
    ATRIAL_FIBRILLATION: ((af_episode, 0.8),),
}


def clinical_events(p: Profile, start: datetime, end: datetime, rng: random.Random) -> list[Episode]:
    episodes: list[Episode] = []
    for group in ("any", *p.conditions):
        for build, per_week in EVENT_RATES.get(group, ()):
            episodes.extend(build(p, at, rng) for at in poisson_times(rng, start, end, per_week))
    return episodes


def _day_starts(start: datetime, end: datetime) -> Iterator[datetime]:
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        yield day
        day += timedelta(days=1)


def daily_life(p: Profile, start: datetime, end: datetime, rng: random.Random) -> list[Episode]:
    """Meals and exercise: physiological changes that are normal for this person."""
    episodes: list[Episode] = []
    rise = 95.0 if p.has(TYPE1_DIABETES) else 70.0 if p.has(TYPE2_DIABETES) else 30.0
    for day in _day_starts(start, end):
        for hour in p.meals:
            at = day + timedelta(hours=hour + rng.gauss(0, 0.3))
            amplitude = rise * rng.lognormvariate(0, p.glucose_cv)
            episodes.append(
                Episode(
                    type="post_meal_rise",
                    kind="non_event",
                    patient=p.patient,
                    start=at,
                    # The bump has decayed to 1.5 % of its peak by 6 hours; ending it at 3 (27 %)
                    # dropped glucose by a quarter of the rise in one reading.
                    end=at + 6 * H,
                    shape="bump",
                    onset=50 * M,
                    effects=(Effect("glucose", shift=amplitude),),
                    metrics=("glucose_cgm", "glucose_meter"),
                )
            )
        if p.exercise_at is not None and rng.random() < 5 / 7:
            at = day + timedelta(hours=p.exercise_at + rng.gauss(0, 0.5))
            lift = rng.uniform(30, 55)
            episodes.append(
                Episode(
                    type="exercise_tachycardia",
                    kind="non_event",
                    patient=p.patient,
                    start=at,
                    end=at + rng.uniform(25, 60) * M,
                    onset=5 * M,
                    effects=(
                        Effect("heart_rate", shift=lift),
                        Effect("respiratory_rate", shift=7),
                        Effect("skin_temperature", shift=0.8),
                        Effect("steps", shift=3500),
                    ),
                    metrics=("heart_rate", "respiratory_rate"),
                    detail={"expected_heart_rate": round(p.resting_hr + lift)},
                )
            )
    return [e for e in episodes if start <= e.start < end]
