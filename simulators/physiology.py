"""The patient's signals over time: usual level, daily rhythm, sleep, slow drift, and episodes.

Each (device, signal) stream draws its noise from its own random generator, in
sample order, so adding or removing an episode changes only what that episode
touches: every other value stays identical for the same seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from simulators.episodes import Episode, Signal
from simulators.profiles import Profile


@dataclass(frozen=True, slots=True)
class SignalModel:
    circadian: float  # amplitude of the daily swing
    peak_hour: float
    asleep: float  # change while asleep
    noise_sd: float  # measurement noise
    drift_sd: float  # slow wandering of the usual level (Ornstein-Uhlenbeck, ~1 day)


MODELS: dict[Signal, SignalModel] = {
    "heart_rate": SignalModel(3.0, 16, -7.0, 2.0, 2.0),
    "spo2": SignalModel(0.3, 14, -0.8, 0.7, 0.4),
    "respiratory_rate": SignalModel(0.6, 15, -1.5, 1.0, 0.6),
    "body_temperature": SignalModel(0.3, 18, -0.2, 0.1, 0.1),
    "skin_temperature": SignalModel(0.4, 18, 0.7, 0.25, 0.3),
    "systolic": SignalModel(6.0, 10, -10.0, 6.0, 4.0),
    "diastolic": SignalModel(4.0, 10, -7.0, 4.0, 2.5),
    "body_weight": SignalModel(0.3, 20, -0.2, 0.2, 0.4),
    "glucose": SignalModel(8.0, 6, -5.0, 0.0, 8.0),  # CGM/meter noise is proportional, see below
    "steps": SignalModel(0.0, 12, 0.0, 1500.0, 0.0),
}
_DRIFT_TAU_S = 24 * 3600.0
# CGM sensor error, fitted to the shared real traces (evaluation/cgm_realism.py): real CGMs show a
# median second difference of 1.0-1.8 mg/dL between 5-minute readings, far below white noise of
# the sensors' 9 % MARD; most of their error is slow.
_CGM_ERROR_TAU_S = 4 * 3600.0
_CGM_SLOW_ERROR, _CGM_NOISE = 0.05, 0.003


def usual(profile: Profile, signal: Signal) -> float:
    return {
        "heart_rate": profile.resting_hr,
        "spo2": profile.spo2,
        "respiratory_rate": profile.rr,
        "body_temperature": profile.body_temp,
        "skin_temperature": profile.skin_temp,
        "systolic": profile.systolic,
        "diastolic": profile.diastolic,
        "body_weight": profile.dry_weight,
        "glucose": profile.glucose_mean,
        "steps": profile.daily_steps,
    }[signal]


def hour_of(at: datetime) -> float:
    return at.hour + at.minute / 60 + at.second / 3600


def is_asleep(profile: Profile, at: datetime) -> bool:
    hour = hour_of(at)
    start, end = profile.sleep_at, profile.wake_at
    return (start <= hour or hour < end) if start > end else (start <= hour < end)


class Stream:
    """One device's view of one signal: its own noise, its own drift state."""

    def __init__(
        self,
        profile: Profile,
        signal: Signal,
        rng: random.Random,
        episodes: Sequence[Episode] = (),
        *,
        continuous_glucose: bool = False,
    ) -> None:
        self.profile = profile
        # Only the episodes that touch this signal, by start time: most samples look at none.
        self.episodes = sorted(
            (e for e in episodes if any(effect.signal == signal for effect in e.effects)),
            key=lambda e: e.start,
        )
        self.signal = signal
        self.model = MODELS[signal]
        self.rng = rng
        self.drift = rng.gauss(0, self.model.drift_sd)
        self.last_at: datetime | None = None
        # A CGM's error is mostly slow (calibration and sensor drift over hours) with little
        # reading-to-reading noise; a meter's fingersticks are independent of each other.
        self.continuous_glucose = continuous_glucose
        self.sensor_error = rng.gauss(0, 1) if continuous_glucose else 0.0

    def sample(self, at: datetime) -> float:
        """The value a device measures at ``at``, before rounding to the device's resolution."""
        model, rng = self.model, self.rng
        # Draw every random number, used or not, so the stream stays aligned with other runs.
        noise, drift_step, extra = rng.gauss(0, 1), rng.gauss(0, 1), rng.gauss(0, 1)
        if self.last_at is not None:
            dt = max((at - self.last_at).total_seconds(), 0.0)
            keep = math.exp(-dt / _DRIFT_TAU_S)
            self.drift = self.drift * keep + model.drift_sd * math.sqrt(1 - keep * keep) * drift_step
            if self.continuous_glucose:
                slow = math.exp(-dt / _CGM_ERROR_TAU_S)
                self.sensor_error = self.sensor_error * slow + math.sqrt(1 - slow * slow) * rng.gauss(0, 1)
        self.last_at = at
        value = usual(self.profile, self.signal) + self.drift
        phase = 2 * math.pi * (hour_of(at) - model.peak_hour) / 24
        value += model.circadian * math.cos(phase)
        if is_asleep(self.profile, at):
            value += model.asleep
        sd = model.noise_sd * (self.profile.hr_sd / 2.0 if self.signal == "heart_rate" else 1.0)
        pull, target, extra_sd = 0.0, 0.0, 0.0
        for episode in self.episodes:
            if episode.start > at:
                break
            weight = episode.intensity(at)
            if weight <= 0:
                continue
            for effect in episode.effects:
                if effect.signal != self.signal:
                    continue
                value += effect.shift * weight
                extra_sd += effect.extra_sd * weight
                if effect.target is not None and weight > pull:
                    pull, target = weight, effect.target
        if pull > 0:
            value = value * (1 - pull) + target * pull
        if self.signal == "glucose":
            if self.continuous_glucose:  # slow error of 5 % and 0.3 % of reading-to-reading noise
                return (
                    value * (1 + _CGM_SLOW_ERROR * self.sensor_error + _CGM_NOISE * noise) + extra_sd * extra
                )
            sd = 0.05 * value  # a meter's error grows with the level (MARD about 9 %)
        return value + sd * noise + extra_sd * extra
