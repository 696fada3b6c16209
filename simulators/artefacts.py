"""What goes wrong with the measuring rather than the patient: artefacts and device faults.

Artefacts are labelled non-events (an alert on one is a false alert); faults
are labelled faults (the right response is a device-problem alert or nothing).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.kinds import DeviceKind
from simulators.episodes import Effect, Episode
from simulators.profiles import Profile
from simulators.scenario import H, M, poisson_times


@dataclass(frozen=True, slots=True)
class Fault:
    """A device fault the engine acts out (the labels file gets it as an episode)."""

    type: str  # dropout, battery_death, clock_skew, duplicate_delivery, out_of_order, stuck_sensor
    device: str
    start: datetime
    end: datetime
    skew: timedelta = timedelta(0)
    signal: str | None = None

    def label(self, patient: str) -> dict[str, object]:
        return Episode(
            type=self.type,
            kind="fault",
            patient=patient,
            start=self.start,
            end=self.end,
            device=self.device,
            detail={"skew_s": self.skew.total_seconds()} if self.skew else {},
        ).label()


def sensor_artefacts(
    p: Profile, serial: str, kind: DeviceKind, start: datetime, end: datetime, rng: random.Random
) -> list[Episode]:
    """Things a device reports that are not the patient: they must not raise clinical alerts."""
    found: list[Episode] = []

    def add(type_: str, at: datetime, length: timedelta, metrics: tuple[str, ...], *effects: Effect) -> None:
        found.append(
            Episode(
                type=type_,
                kind="non_event",
                patient=p.patient,
                start=at,
                end=at + length,
                onset=timedelta(seconds=1),
                device=serial,
                effects=effects,
                metrics=metrics,
            )
        )

    if kind is DeviceKind.WEARABLE:
        for at in poisson_times(rng, start, end, 5.0):
            add(
                "motion_artefact",
                at,
                rng.uniform(1.5, 4) * M,
                ("heart_rate", "spo2"),
                Effect("heart_rate", shift=rng.uniform(25, 60)),
                Effect("spo2", shift=-rng.uniform(5, 12)),
            )
        for at in poisson_times(rng, start, end, 0.3):
            add(
                "implausible_spike",
                at,
                1.5 * M,
                ("heart_rate",),
                Effect("heart_rate", target=rng.uniform(210, 260)),
            )
    if kind is DeviceKind.BP_CUFF:
        for at in poisson_times(rng, start, end, 0.4):
            error = rng.choice((-1, 1)) * rng.uniform(20, 35)
            add(
                "loose_cuff",
                at,
                12 * H,
                ("blood_pressure",),
                Effect("systolic", shift=error),
                Effect("diastolic", shift=error * 0.5),
            )
    if kind is DeviceKind.CGM:
        for at in poisson_times(rng, start, end, 0.7):
            night = at.replace(hour=rng.randint(1, 4), minute=rng.randint(0, 59))
            if start <= night < end:
                add(
                    "cgm_compression_low",
                    night,
                    rng.uniform(15, 35) * M,
                    ("glucose_cgm",),
                    Effect("glucose", target=rng.uniform(40, 58)),
                )
        for at in poisson_times(rng, start, end, 0.3):
            add(
                "implausible_spike",
                at,
                4 * M,
                ("glucose_cgm",),
                Effect("glucose", target=rng.uniform(420, 480)),
            )
    return [e for e in found if e.end <= end]


FAULT_RATES_PER_WEEK = {"dropout": 0.2, "duplicate_delivery": 0.5, "out_of_order": 0.5, "stuck_sensor": 0.08}


def device_faults(
    serial: str, kind: DeviceKind, start: datetime, end: datetime, rng: random.Random
) -> list[Fault]:
    faults: list[Fault] = []
    for at in poisson_times(rng, start, end, FAULT_RATES_PER_WEEK["dropout"]):
        faults.append(Fault("dropout", serial, at, min(end, at + rng.uniform(2, 12) * H)))
    for type_ in ("duplicate_delivery", "out_of_order"):
        for at in poisson_times(rng, start, end, FAULT_RATES_PER_WEEK[type_]):
            faults.append(Fault(type_, serial, at, at + timedelta(seconds=1)))
    if kind in (DeviceKind.WEARABLE, DeviceKind.CGM):
        signal = "glucose" if kind is DeviceKind.CGM else rng.choice(("heart_rate", "spo2"))
        for at in poisson_times(rng, start, end, FAULT_RATES_PER_WEEK["stuck_sensor"]):
            faults.append(
                Fault("stuck_sensor", serial, at, min(end, at + rng.uniform(2, 8) * H), signal=signal)
            )
    if rng.random() < 0.03:
        at = start + (end - start) * rng.uniform(0.2, 0.8)
        faults.append(Fault("battery_death", serial, at, min(end, at + rng.uniform(12, 48) * H)))
    if rng.random() < 0.03:
        skew = timedelta(minutes=rng.choice((-45, -20, 2, 3)))
        faults.append(Fault("clock_skew", serial, start, end, skew=skew))
    return faults
