"""A simulated cohort: patients, their devices, and everything that will happen to them."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devices.kinds import KINDS, DeviceKind, KindSpec
from simulators.artefacts import Fault, device_faults, sensor_artefacts
from simulators.episodes import Episode
from simulators.profiles import (
    ATRIAL_FIBRILLATION,
    COPD,
    HEART_FAILURE,
    HYPERTENSION,
    TYPE1_DIABETES,
    TYPE2_DIABETES,
    Profile,
    draw_profile,
)
from simulators.scenario import clinical_events, daily_life

# Share of patients by main condition; "none" are monitored people without the condition.
DEFAULT_MIX: dict[str, float] = {
    HYPERTENSION: 0.25,
    TYPE2_DIABETES: 0.18,
    TYPE1_DIABETES: 0.12,
    HEART_FAILURE: 0.15,
    COPD: 0.15,
    ATRIAL_FIBRILLATION: 0.10,
    "none": 0.05,
}
# Conditions that often come with the main one.
COMORBID_HYPERTENSION = {TYPE2_DIABETES: 0.5, HEART_FAILURE: 0.5, ATRIAL_FIBRILLATION: 0.4}


@dataclass(frozen=True, slots=True)
class SimDevice:
    serial: str
    kind: DeviceKind

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]


@dataclass(slots=True)
class SimPatient:
    mrn: str
    profile: Profile
    devices: list[SimDevice]
    episodes: list[Episode] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def episodes_for(self, serial: str) -> list[Episode]:
        return [e for e in self.episodes if e.device is None or e.device == serial]


@dataclass(slots=True)
class Cohort:
    seed: int
    start: datetime
    end: datetime
    patients: list[SimPatient]
    site: str = "SIM"
    time_zone: str = "UTC"  # where the cohort lives (its days and nights are simulated in UTC hours)

    def manifest(self) -> dict[str, Any]:
        """Who to enrol and which devices to provision (read by ``monitoring enrol``)."""
        return {
            "site": {"code": self.site, "name": "Simulated cohort"},
            "patients": [
                {
                    "mrn": p.mrn,
                    "display_name": f"Simulated patient {p.mrn}",
                    "conditions": list(p.profile.conditions),
                    "devices": [{"serial": d.serial, "kind": d.kind.value} for d in p.devices],
                    "time_zone": self.time_zone,
                    "enrolled_at": self.start.isoformat(),
                }
                for p in self.patients
            ],
        }

    def labels(self) -> Iterator[dict[str, Any]]:
        """Ground truth, one dict per episode or fault, in start order."""
        rows: list[dict[str, Any]] = []
        for patient in self.patients:
            rows.extend(e.label() for e in patient.episodes)
            rows.extend(f.label(patient.mrn) for f in patient.faults)
        rows.sort(key=lambda row: (row["start"], row["patient"], row["type"]))
        yield from rows

    def counts(self) -> dict[str, int]:
        result = {"event": 0, "non_event": 0, "fault": 0}
        for label in self.labels():
            result[label["kind"]] += 1
        return result


def _conditions(rng: random.Random, mix: dict[str, float]) -> tuple[str, ...]:
    main = rng.choices(list(mix), weights=list(mix.values()))[0]
    if main == "none":
        return ()
    chosen = {main}
    if rng.random() < COMORBID_HYPERTENSION.get(main, 0.0):
        chosen.add(HYPERTENSION)
    return tuple(sorted(chosen))


def build_cohort(
    *,
    size: int,
    start: datetime,
    days: float,
    seed: int,
    mix: dict[str, float] | None = None,
    conditions: Sequence[tuple[str, ...]] | None = None,
    prefix: str = "SIM",
) -> Cohort:
    """A reproducible cohort: the same arguments always give the same patients and episodes.

    ``conditions`` fixes each patient's conditions (one tuple per patient) instead of ``mix``.
    """
    end = start + timedelta(days=days)
    picker = random.Random(f"{seed}/conditions")
    patients: list[SimPatient] = []
    for index in range(size):
        mrn = f"{prefix}-{seed}-{index:04d}"
        profile = draw_profile(
            mrn,
            conditions[index] if conditions is not None else _conditions(picker, mix or DEFAULT_MIX),
            random.Random(f"{seed}/{mrn}/profile"),
        )
        devices = [
            SimDevice(f"{kind.value.replace('_', '')}-{seed}-{index:04d}", kind) for kind in profile.devices
        ]
        patient = SimPatient(mrn, profile, devices)
        patient.episodes += clinical_events(profile, start, end, random.Random(f"{seed}/{mrn}/events"))
        patient.episodes += daily_life(profile, start, end, random.Random(f"{seed}/{mrn}/life"))
        for device in devices:
            rng = random.Random(f"{seed}/{device.serial}/device")
            patient.episodes += sensor_artefacts(profile, device.serial, device.kind, start, end, rng)
            patient.faults += device_faults(device.serial, device.kind, start, end, rng)
        patients.append(patient)
    return Cohort(seed=seed, start=start, end=end, patients=patients)
