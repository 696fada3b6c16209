"""Patient profiles: who the simulated patients are and what is usual for each of them.

Personal baselines are drawn from plausible adult distributions and shifted by
condition (e.g. COPD lowers usual SpO2 and raises respiratory rate; heart
failure raises resting heart rate). Each profile also fixes the person's day:
when they sleep, eat and exercise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from devices.kinds import DeviceKind

# Condition names as the service spells them.
HYPERTENSION = "hypertension"
TYPE1_DIABETES = "type1_diabetes"
TYPE2_DIABETES = "type2_diabetes"
HEART_FAILURE = "heart_failure"
COPD = "copd"
ATRIAL_FIBRILLATION = "atrial_fibrillation"
CONDITIONS = (HYPERTENSION, TYPE1_DIABETES, TYPE2_DIABETES, HEART_FAILURE, COPD, ATRIAL_FIBRILLATION)

# Which devices a patient with a condition is given; everyone monitored wears a wearable.
DEVICES_FOR: dict[str, tuple[DeviceKind, ...]] = {
    HYPERTENSION: (DeviceKind.BP_CUFF,),
    TYPE1_DIABETES: (DeviceKind.CGM,),
    TYPE2_DIABETES: (DeviceKind.GLUCOMETER,),
    HEART_FAILURE: (DeviceKind.SCALE, DeviceKind.BP_CUFF),
    COPD: (DeviceKind.PULSE_OXIMETER, DeviceKind.THERMOMETER),
    ATRIAL_FIBRILLATION: (DeviceKind.BP_CUFF,),
}


@dataclass(frozen=True, slots=True)
class Profile:
    """One patient's usual physiology and daily rhythm."""

    patient: str
    conditions: tuple[str, ...]
    resting_hr: float
    hr_sd: float  # beat-to-beat and minute-to-minute variability (large in AF)
    spo2: float
    rr: float
    body_temp: float
    skin_temp: float
    systolic: float
    diastolic: float
    dry_weight: float
    glucose_mean: float  # mg/dL, fasting-ish level between meals
    glucose_cv: float  # coefficient of variation of the meal responses
    sleep_at: float  # hour of day
    wake_at: float
    meals: tuple[float, ...]  # usual meal hours
    exercise_at: float | None  # usual hour of a daily walk or workout
    daily_steps: float
    devices: tuple[DeviceKind, ...] = field(default=())

    def has(self, condition: str) -> bool:
        return condition in self.conditions


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def draw_profile(patient: str, conditions: tuple[str, ...], rng: random.Random) -> Profile:
    """A plausible adult with these conditions; deterministic for a given ``rng`` state."""
    has = set(conditions).__contains__
    resting_hr = _clip(rng.gauss(68, 7), 52, 88) + (8 if has(HEART_FAILURE) else 0)
    spo2 = _clip(rng.gauss(97.2, 0.8), 95, 99.5)
    rr = _clip(rng.gauss(14.5, 1.5), 11, 18)
    if has(COPD):
        spo2 = _clip(rng.gauss(91.5, 1.2), 89, 94)
        rr = _clip(rng.gauss(18, 1.5), 15, 22)
    if has(HEART_FAILURE):
        spo2 = min(spo2, _clip(rng.gauss(95.5, 1), 93, 98))
    systolic = _clip(rng.gauss(121, 8), 102, 135)
    diastolic = _clip(rng.gauss(77, 5), 64, 84)
    if has(HYPERTENSION):
        systolic = _clip(rng.gauss(142, 9), 128, 165)
        diastolic = _clip(rng.gauss(88, 5), 80, 98)
    glucose_mean, glucose_cv = _clip(rng.gauss(92, 7), 78, 105), 0.12
    if has(TYPE2_DIABETES):
        glucose_mean, glucose_cv = _clip(rng.gauss(135, 15), 110, 170), 0.2
    if has(TYPE1_DIABETES):
        glucose_mean, glucose_cv = _clip(rng.gauss(145, 15), 115, 175), 0.3
    sleep_at = _clip(rng.gauss(23, 0.8), 21, 25.5) % 24
    wake_at = _clip(rng.gauss(7, 0.7), 5, 9.5)
    breakfast = wake_at + rng.uniform(0.3, 1.0)
    meals = (breakfast, _clip(rng.gauss(12.8, 0.5), 11.5, 14), _clip(rng.gauss(19, 0.6), 17.5, 20.5))
    active = rng.random() < 0.7 and not has(COPD)
    devices = {DeviceKind.WEARABLE}
    for condition in conditions:
        devices.update(DEVICES_FOR.get(condition, ()))
    return Profile(
        patient=patient,
        conditions=tuple(sorted(conditions)),
        resting_hr=resting_hr,
        hr_sd=9.0 if has(ATRIAL_FIBRILLATION) else 2.0,
        spo2=spo2,
        rr=rr,
        body_temp=_clip(rng.gauss(36.7, 0.15), 36.3, 37.1),
        skin_temp=_clip(rng.gauss(33.4, 0.5), 32.2, 34.5),
        systolic=systolic,
        diastolic=min(diastolic, systolic - 30),
        dry_weight=_clip(rng.gauss(80, 14), 48, 130),
        glucose_mean=glucose_mean,
        glucose_cv=glucose_cv,
        sleep_at=sleep_at,
        wake_at=wake_at,
        meals=meals,
        exercise_at=_clip(rng.gauss(17.5, 1.5), 15, 20) if active else None,
        daily_steps=_clip(rng.gauss(6500, 2000), 1500, 13000)
        * (0.5 if has(COPD) or has(HEART_FAILURE) else 1),
        devices=tuple(sorted(devices)),
    )
