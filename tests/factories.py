"""Test data: a site, patients with care plans, devices and readings messages."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from devices.contract import Reading, ReadingsMessage, encode
from monitoring.domain import Condition
from monitoring.registry.service import enrol_patient, ensure_site, register_device
from monitoring.storage.db import Database

_counter = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Enrolled:
    patient_id: UUID
    device_id: UUID
    serial: str


async def enrol(
    database: Database,
    *,
    conditions: Iterable[Condition] = (Condition.HYPERTENSION,),
    kind: str = "wearable",
    serial: str | None = None,
) -> Enrolled:
    """A patient at the test site with one device assigned."""
    n = next(_counter)
    serial = serial or f"dev-{n:05d}"
    async with database.unit_of_work() as session:
        site = await ensure_site(session=session, code="TEST", name="Test site")
        enrolled = await enrol_patient(
            session=session,
            site=site,
            mrn=f"MRN-{n:05d}",
            display_name=f"Patient {n}",
            conditions=list(conditions),
        )
        device = await register_device(
            session=session, serial=serial, kind=kind, patient_id=enrolled.patient.id
        )
        return Enrolled(enrolled.patient.id, device.id, serial)


def heart_rates(
    values: Iterable[float], *, start: datetime | None = None, step_s: float = 60
) -> list[Reading]:
    start = start or datetime.now(UTC) - timedelta(minutes=30)
    return [
        Reading(metric="heart_rate", unit="/min", at=start + timedelta(seconds=i * step_s), value=v)
        for i, v in enumerate(values)
    ]


def readings_payload(serial: str, seq: int, readings: list[Reading]) -> bytes:
    return encode(ReadingsMessage(device_id=serial, seq=seq, sent_at=datetime.now(UTC), readings=readings))
