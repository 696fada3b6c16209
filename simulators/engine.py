"""Turns a cohort into what its devices send, in time order.

Each device is a generator of ``Send`` and ``Presence`` items; the cohort's
stream is their merge by time. Devices measure on their own schedule (a
wearable every minute, a cuff morning and evening, more often while the
patient feels unwell), round and convert to their own units, and act out
their faults: dropouts, dead batteries, skewed clocks, stuck sensors,
duplicated and reordered messages.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.contract import METRICS, Metric, Reading
from devices.kinds import DeviceKind
from devices.units import from_canonical
from simulators.artefacts import Fault
from simulators.cohort import Cohort, SimDevice, SimPatient
from simulators.episodes import Episode, Signal
from simulators.physiology import Stream

SIGNALS_OF: dict[Metric, tuple[Signal, ...]] = {
    Metric.HEART_RATE: ("heart_rate",),
    Metric.SPO2: ("spo2",),
    Metric.RESPIRATORY_RATE: ("respiratory_rate",),
    Metric.SKIN_TEMPERATURE: ("skin_temperature",),
    Metric.BODY_TEMPERATURE: ("body_temperature",),
    Metric.BLOOD_PRESSURE: ("systolic", "diastolic"),
    Metric.BODY_WEIGHT: ("body_weight",),
    Metric.GLUCOSE_CGM: ("glucose",),
    Metric.GLUCOSE_METER: ("glucose",),
    Metric.STEPS: ("steps",),
}
# Decimal places a device shows, by unit.
RESOLUTION = {"Cel": 1, "[degF]": 1, "[lb_av]": 1, "kg": 1, "mmol/L": 1}
RETEST = timedelta(minutes=5)  # a patient re-measures a reading that worries them


@dataclass(frozen=True, slots=True)
class Send:
    at: datetime
    serial: str
    readings: tuple[Reading, ...]
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Presence:
    at: datetime
    serial: str
    online: bool


Item = Send | Presence


def spot_check_hours(patient: SimPatient, kind: DeviceKind) -> tuple[float, ...]:
    p = patient.profile
    evening = (p.sleep_at - 0.7) % 24
    return {
        DeviceKind.BP_CUFF: (p.wake_at + 0.5, evening),
        DeviceKind.GLUCOMETER: (*(m - 0.2 for m in p.meals), evening),
        DeviceKind.SCALE: (p.wake_at + 0.25,),
        DeviceKind.PULSE_OXIMETER: (9.0, 14.0, 20.0),
        DeviceKind.THERMOMETER: (p.wake_at + 0.5, 21.0),
    }.get(kind, ())


def sample_times(patient: SimPatient, device: SimDevice, start: datetime, end: datetime) -> list[datetime]:
    rng = random.Random(f"{device.serial}/schedule")
    times: list[datetime] = []
    hours = spot_check_hours(patient, device.kind)
    if hours:
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            for hour in hours:
                if rng.random() < 0.9:  # people skip a measurement now and then
                    times.append(day + timedelta(hours=hour, minutes=rng.gauss(0, 12)))
            day += timedelta(days=1)
    else:
        step = device.spec.sample_every
        at = start + timedelta(seconds=rng.uniform(0, step.total_seconds()))
        lost = _signal_losses(device, start, end) if device.kind == DeviceKind.CGM else []
        while at < end:
            if not any(a <= at < b for a, b in lost):
                times.append(at)
            at += step
    for episode in patient.episodes:
        if episode.recheck is not None and episode.recheck[0] == device.kind.value:
            at = episode.start + episode.onset
            times.append(at + RETEST)  # home-BP guidance: repeat a worrying reading after 5 minutes
            while at < episode.end:
                times.append(at)
                at += episode.recheck[1]
    return sorted(t for t in times if start <= t < end)


CGM_LOSSES_PER_DAY = 0.3  # real CGM traces show 0.07-1.0 gaps over 15 minutes a day


def _signal_losses(device: SimDevice, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Short spells when a CGM's readings do not arrive (out of Bluetooth range, a signal loss)."""
    rng = random.Random(f"{device.serial}/signal-loss")
    losses: list[tuple[datetime, datetime]] = []
    at = start
    while True:
        at += timedelta(days=rng.expovariate(CGM_LOSSES_PER_DAY))
        if at >= end:
            return losses
        losses.append((at, at + timedelta(minutes=rng.uniform(15, 60))))


def _round(value: float, unit: str) -> float:
    digits = RESOLUTION.get(unit, 0)
    return round(value, digits) if digits else float(round(value))


class DeviceRun:
    """One device acting out the simulated period."""

    def __init__(self, patient: SimPatient, device: SimDevice, seed: int) -> None:
        self.patient = patient
        self.device = device
        self.episodes: list[Episode] = patient.episodes_for(device.serial)
        self.faults: list[Fault] = [f for f in patient.faults if f.device == device.serial]
        signals = {s for metric, _ in (*device.spec.metrics, *device.spec.daily) for s in SIGNALS_OF[metric]}
        self.streams = {
            s: Stream(
                patient.profile,
                s,
                random.Random(f"{seed}/{device.serial}/{s}"),
                self.episodes,
                continuous_glucose=device.kind == DeviceKind.CGM,
            )
            for s in sorted(signals)
        }
        self.artefacts = [e for e in self.episodes if e.type == "motion_artefact"]
        self.stuck: dict[str, float] = {}
        self.sqi_rng = random.Random(f"{seed}/{device.serial}/sqi")

    def _fault(self, type_: str, at: datetime) -> Fault | None:
        return next((f for f in self.faults if f.type == type_ and f.start <= at < f.end), None)

    def _value(self, signal: Signal, at: datetime) -> float:
        value = self.streams[signal].sample(at)
        stuck = self._fault("stuck_sensor", at)
        if stuck is not None and stuck.signal == signal:
            return self.stuck.setdefault(f"{stuck.start}", value)
        return value

    def _reading(self, metric: Metric, unit: str, at: datetime, stamp: datetime) -> Reading:
        canonical = METRICS[metric].canonical_unit
        values = [self._value(s, at) for s in SIGNALS_OF[metric]]
        if metric is Metric.BLOOD_PRESSURE:
            systolic = round(values[0])
            diastolic = min(round(values[1]), systolic - 15)
            return Reading(metric=metric, unit=unit, at=stamp, systolic=systolic, diastolic=diastolic)
        value = values[0]
        if metric is Metric.SPO2:
            value = min(value, 100.0)
        if metric is Metric.GLUCOSE_CGM:
            value = min(max(value, 40.0), 400.0)  # sensors report LO/HI outside 40-400 mg/dL
        if metric is Metric.STEPS:
            value = max(value, 0.0)
        shown = _round(from_canonical(value, canonical, unit), unit)
        sqi = None
        if self.device.kind is DeviceKind.WEARABLE:
            artefact = any(e.start <= at < e.end for e in self.artefacts)
            flagged = artefact and self.sqi_rng.random() < 0.7  # devices notice most artefacts, not all
            sqi = round(self.sqi_rng.uniform(0.15, 0.45) if flagged else self.sqi_rng.uniform(0.85, 1.0), 2)
        return Reading(metric=metric, unit=unit, at=stamp, value=shown, sqi=sqi)

    def items(self, start: datetime, end: datetime) -> Iterator[Item]:
        spec = self.device.spec
        serial = self.device.serial
        pending: list[Reading] = []
        held: Send | None = None
        duplicated: set[datetime] = set()
        reordered: set[datetime] = set()
        presence: list[tuple[datetime, bool]] = []
        for fault in self.faults:
            if fault.type in ("dropout", "battery_death"):
                presence += [(fault.start, False), (fault.end, True)]
        presence.sort()
        day_ends = self._day_ends(start, end) if spec.daily else []
        times = sorted(set(sample_times(self.patient, self.device, start, end)) | set(day_ends))
        for at in times:
            while presence and presence[0][0] <= at:
                when, online = presence.pop(0)
                yield Presence(when, serial, online)
            if self._fault("battery_death", at) is not None:
                continue
            skew = self._fault("clock_skew", at)
            stamp = at + (skew.skew if skew else timedelta(0))
            metrics = spec.daily if at in day_ends else spec.metrics
            pending.extend(self._reading(metric, unit, at, stamp) for metric, unit in metrics)
            if len(pending) < spec.batch * len(spec.metrics) and at not in day_ends:
                continue
            send = Send(at, serial, tuple(pending))
            pending = []
            if held is not None:  # the reordered message goes after the one that overtook it
                yield send
                yield Send(at, serial, held.readings)
                held = None
                continue
            late = self._fault_since("out_of_order", at, reordered)
            if late is not None:
                reordered.add(late.start)
                held = send
                continue
            yield send
            dup = self._fault_since("duplicate_delivery", at, duplicated)
            if dup is not None:
                duplicated.add(dup.start)
                yield Send(at, serial, send.readings, duplicate=True)
        if held is not None:
            yield Send(held.at, serial, held.readings)
        for when, online in presence:
            yield Presence(when, serial, online)

    def _fault_since(self, type_: str, at: datetime, done: set[datetime]) -> Fault | None:
        """The earliest fault of this type that has started and not been acted out yet."""
        return next(
            (f for f in self.faults if f.type == type_ and f.start <= at and f.start not in done), None
        )

    @staticmethod
    def _day_ends(start: datetime, end: datetime) -> list[datetime]:
        day = start.replace(hour=23, minute=55, second=0, microsecond=0)
        result = []
        while day < end:
            if day >= start:
                result.append(day)
            day += timedelta(days=1)
        return result


def stream(cohort: Cohort, start: datetime | None = None, end: datetime | None = None) -> Iterator[Item]:
    """Everything the cohort's devices send, merged in time order."""
    start, end = start or cohort.start, end or cohort.end
    runs = [DeviceRun(p, d, cohort.seed).items(start, end) for p in cohort.patients for d in p.devices]
    return heapq.merge(*runs, key=lambda item: item.at)
