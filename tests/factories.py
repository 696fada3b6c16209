"""Test data: a site, patients with care plans, devices and readings messages."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from devices.contract import Reading, ReadingsMessage, encode
from monitoring.access import repository as access
from monitoring.access.principal import Role
from monitoring.domain import Condition
from monitoring.registry.service import enrol_patient, ensure_site, register_device
from monitoring.storage.db import Database
from monitoring.storage.models import Alert

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
    care_team_id: UUID | None = None,
    site: str = "TEST",
    time_zone: str = "UTC",
) -> Enrolled:
    """A patient at a site (the test site unless told) with one device assigned."""
    n = next(_counter)
    serial = serial or f"dev-{n:05d}"
    async with database.unit_of_work() as session:
        where = await ensure_site(session=session, code=site, name=f"Site {site}")
        enrolled = await enrol_patient(
            session=session,
            site=where,
            mrn=f"MRN-{n:05d}",
            display_name=f"Patient {n}",
            conditions=list(conditions),
            care_team_id=care_team_id,
            time_zone=time_zone,
        )
        device = await register_device(
            session=session, serial=serial, kind=kind, patient_id=enrolled.patient.id, site_id=where.id
        )
        return Enrolled(enrolled.patient.id, device.id, serial)


PASSWORD = "correct horse battery staple"  # noqa: S105 - test accounts only


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


async def team(database: Database, name: str | None = None, *, site: str = "TEST") -> UUID:
    """A care team at a site (the test site unless told)."""
    async with database.unit_of_work() as session:
        where = await ensure_site(session=session, code=site, name=f"Site {site}")
        created = await access.create_team(
            session=session, site_id=where.id, name=name or f"Team {next(_counter)}"
        )
        return created.id


async def user(database: Database, role: Role, team_ids: Iterable[UUID] = (), *, site: str = "TEST") -> UUID:
    """A user of a site (the test site unless told) with a password of PASSWORD."""
    async with database.unit_of_work() as session:
        where = await ensure_site(session=session, code=site, name=f"Site {site}")
        created = await access.create_user(
            session=session,
            site_id=where.id,
            username=f"{role.value}-{next(_counter)}",
            display_name=f"Test {role.value}",
            role=role,
            password=PASSWORD,
            team_ids=list(team_ids),
        )
        return created.id


async def alert(
    database: Database, patient_id: UUID, *, prefix: str = "test", severity: str = "high"
) -> UUID:
    """An open alert of a type of its own for the patient, as if a detector had raised it."""
    now = datetime.now(UTC)
    async with database.unit_of_work() as session:
        row = Alert(
            patient_id=patient_id,
            alert_type=f"{prefix}.{uuid4().hex[:12]}",
            detector=prefix,
            severity=severity,
            summary="A test alert.",
            explanation={
                "detector": prefix,
                "rule": "a test",
                "observed": [],
                "threshold": None,
                "baseline": None,
            },
            opened_at=now,
            episode_started_at=now,
            last_episode_started_at=now,
            last_triggered_at=now,
        )
        session.add(row)
        await session.flush()
        return row.id
