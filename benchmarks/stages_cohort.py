"""The realistic cohort as the stage benchmark feeds it: the simulator's patients, warm, without a broker.

The same patients, devices and messages as ``python -m benchmarks --cohort
realistic`` (``benchmarks.realistic``): each device is provisioned to its
patient as the registry would give it to a worker, each patient has the
care plan its conditions start with, and the first ``WARM_DAYS`` of data go
through the detectors before anything is timed, so what is measured is
detection past its warm-up, as for patients monitored for days.

The data starts at a fixed instant, so two runs feed the detectors the same
readings and must find the same things: ``digest`` fingerprints the findings,
which is how an optimisation shows that it changed nothing but the time.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from benchmarks.realistic import WARM_DAYS, cohort, sends, wire_message
from devices.contract import encode, readings_topic
from devices.kinds import metrics_of
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.findings import Finding
from monitoring.domain import Condition, DeviceState
from monitoring.ingest.records import Inbound
from monitoring.registry.careplans import CarePlan, default_thresholds
from monitoring.registry.records import DeviceRef
from simulators.cohort import Cohort

ARRIVAL = timedelta(milliseconds=50)  # each message arrives this long after its device sent it
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; ingestion checks a reading's age against its arrival


@dataclass(frozen=True, slots=True)
class Workload:
    warm: list[Inbound]
    measured: list[Inbound]
    devices: dict[str, DeviceRef]
    plans: dict[UUID, CarePlan]

    def install(self, engine: DetectionEngine) -> None:
        for patient_id, plan in self.plans.items():
            engine.set_care_plan(patient_id, plan)


def _inbound(of: Cohort, root: str, hours: tuple[float, float]) -> list[Inbound]:
    first, last = (of.start + timedelta(hours=h) for h in hours)
    return [
        Inbound(
            readings_topic(item.serial, root),
            encode(wire_message(item)),
            item.at + ARRIVAL,
            mid=i % 65535 + 1,
        )
        for i, item in enumerate(sends(of, 0, 1, first, last))
    ]


def workload(patients: int, hours: float, root: str) -> Workload:
    """``patients`` of the realistic cohort: their warm-up messages and the next ``hours`` of them."""
    of = cohort(patients, START)
    devices: dict[str, DeviceRef] = {}
    plans: dict[UUID, CarePlan] = {}
    for patient in of.patients:
        patient_id = uuid.uuid5(uuid.NAMESPACE_URL, f"stages/{patient.mrn}")
        conditions = frozenset(Condition(c) for c in patient.profile.conditions)
        plans[patient_id] = CarePlan(conditions, tuple(default_thresholds(conditions).values()))
        for device in patient.devices:
            devices[device.serial] = DeviceRef(
                uuid.uuid5(uuid.NAMESPACE_URL, f"stages/{device.serial}"),
                device.serial,
                patient_id,
                DeviceState.ACTIVE,
                device.kind.value,
                metrics_of(device.kind.value),
            )
    warm_hours = WARM_DAYS * 24
    return Workload(
        warm=_inbound(of, root, (0, warm_hours)),
        measured=_inbound(of, root, (warm_hours, warm_hours + hours)),
        devices=devices,
        plans=plans,
    )


def digest(findings: Sequence[Finding]) -> str:
    """A fingerprint of everything the findings say (the same readings must give the same one)."""
    hashed = hashlib.sha256()
    for found in findings:
        hashed.update(json.dumps(asdict(found), sort_keys=True, default=str).encode())
    return hashed.hexdigest()[:16]
