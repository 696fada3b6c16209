"""What comes back, not just the status: no list or search answer carries anything of another team or site.

Two sites; the test site has care teams A and B, the other site team C. Each
team's patient has a device, readings, an alert, a dismissed alert with a
reason only that team wrote, and a dead letter from its device; each site has
a webhook, an unassigned device and its users. Every list and search endpoint
is then called by every role, and the whole answer is searched for the marks of
everything the caller may not see: ids, record numbers, names, serials,
reasons, URLs.
"""

from __future__ import annotations

import itertools
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from devices.contract import Reading
from monitoring.access.principal import Role
from monitoring.domain import Condition
from monitoring.registry.service import ensure_site, register_device
from monitoring.storage.db import Database
from monitoring.storage.models import Alert, Patient, Webhook
from tests import factories
from tests.api_support import api_client
from tests.factories import enrol, heart_rates, readings_payload, team, user
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration

_numbers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Owner:
    site: str
    team: str | None  # None: the site's own (webhooks, unassigned devices, admins)


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    user: UUID
    site: str
    team: str | None  # None: the site's admin, who sees the whole site

    def may_see(self, owner: Owner) -> bool:
        return owner.site == self.site and (self.team is None or owner.team == self.team)


@dataclass
class World:
    marks: dict[Owner, set[str]] = field(default_factory=dict)
    callers: list[Caller] = field(default_factory=list)
    teams: dict[str, UUID] = field(default_factory=dict)
    patients: dict[str, UUID] = field(default_factory=dict)

    def mark(self, owner: Owner, *marks: object) -> None:
        self.marks.setdefault(owner, set()).update(str(m) for m in marks)

    def leaks(self, caller: Caller, answer: str) -> list[str]:
        return sorted(
            f"{mark} ({owner.site}/{owner.team or 'site'})"
            for owner, marks in self.marks.items()
            if not caller.may_see(owner)
            for mark in marks
            if mark in answer
        )


async def _team(database: Database, world: World, site: str, name: str) -> None:
    """A team with a patient who has readings, an open alert, a dismissed one and a dead letter."""
    owner = Owner(site, name)
    team_id = await team(database, f"Team {name}", site=site)
    enrolled = await enrol(database, conditions=[Condition.HEART_FAILURE], care_team_id=team_id, site=site)
    slow = heart_rates([38, 36, 35, 37, 36])
    refused = [Reading(metric="heart_rate", unit="bpm", at=datetime.now(UTC), value=70)]
    await make_pipeline(database).process(
        [
            inbound(enrolled.serial, readings_payload(enrolled.serial, 1, slow)),
            inbound(enrolled.serial, readings_payload(enrolled.serial, 2, refused)),
        ],
        Acks(),
    )
    coordinator = await user(database, Role.COORDINATOR, [team_id], site=site)
    reason = f"reason-of-team-{name}-{uuid4().hex[:8]}"
    await _dismiss(database, await _alert(database, enrolled.patient_id), coordinator, reason)
    async with database.sessions() as session:
        patient = await session.get(Patient, enrolled.patient_id)
        assert patient is not None
        alerts = (await session.scalars(select(Alert).where(Alert.patient_id == patient.id))).all()
    world.mark(
        owner, team_id, patient.id, patient.mrn, patient.display_name, enrolled.serial, enrolled.device_id
    )
    world.mark(owner, reason, coordinator, *(a.id for a in alerts))
    world.callers.append(Caller(f"coordinator {name}", coordinator, site, name))
    world.teams[name], world.patients[name] = team_id, patient.id


async def _alert(database: Database, patient_id: UUID) -> UUID:
    return await factories.alert(database, patient_id, prefix="isolation", severity="medium")


async def _dismiss(database: Database, alert_id: UUID, coordinator: UUID, reason: str) -> None:
    async with api_client(database, as_user=coordinator) as client:
        done = await client.post(f"/api/v1/alerts/{alert_id}/dismiss", json={"reason": reason})
    assert done.status_code == 200, done.text


async def _site(database: Database, world: World, site: str) -> None:
    """The site's admin, webhook and a device not yet given to anyone."""
    owner = Owner(site, None)
    admin = await user(database, Role.ADMIN, site=site)
    url = f"https://hooks-{site.lower()}-{uuid4().hex[:6]}.example/in"
    async with database.unit_of_work() as session:
        where = await ensure_site(session=session, code=site, name=f"Site {site}")
        hook = Webhook(site_id=where.id, url=url, secret="s" * 32)
        session.add(hook)
        spare = await register_device(
            session=session, serial=f"SPARE-{site}-{uuid4().hex[:6]}", kind="scale", site_id=where.id
        )
        await session.flush()
        world.mark(owner, admin, hook.id, url, spare.serial, spare.id)
    world.callers.append(Caller(f"admin {site}", admin, site, None))


async def build(database: Database) -> World:
    world = World()
    for site, teams in (("TEST", ("A", "B")), ("OTHER", ("C",))):
        await _site(database, world, site)
        for name in teams:
            await _team(database, world, site, name)
    return world


def _lists(world: World) -> list[tuple[str, str]]:
    """(path, what the caller typed that a refusal may repeat)."""
    teams = [(f"/teams/{t}{view}", str(t)) for t in world.teams.values() for view in ("", "/triage")]
    plain = [
        "/auth/me",
        "/patients",
        "/panel",
        "/panel?flag=any&sort=last_reading",
        "/alerts",
        "/alerts?queue=true",
        "/alerts/facets",
        "/alerts?status=dismissed",
        "/alerts/dismissals",
        "/teams",
        "/users",
        "/audit",
        "/webhooks",
        "/dead-letters",
        "/devices",
        "/devices?unassigned=true",
        "/fhir/Patient",
        "/fhir/Device",
        "/fhir/Subscription",
    ]
    return [(path, "") for path in plain] + teams


def _searches(world: World) -> list[tuple[str, str]]:
    """Searches that name a patient: each caller tries every team's patient."""
    return [
        (path, str(patient))
        for patient in world.patients.values()
        for path in (
            f"/fhir/Observation?patient={patient}",
            f"/fhir/Observation/$lastn?patient={patient}",
            f"/fhir/Flag?patient={patient}",
            f"/fhir/Patient/{patient}",
            f"/fhir/Patient?_id={patient}",
            f"/fhir/Device?patient={patient}",
            f"/alerts?patient_id={patient}",
            f"/patients/{patient}",
        )
    ]


async def test_no_answer_carries_anything_of_another_team_or_site(database: Database) -> None:
    world = await build(database)
    leaks: dict[str, list[str]] = {}
    answered: dict[str, int] = {}
    async with AsyncExitStack() as stack:
        clients = {
            c.name: await stack.enter_async_context(api_client(database, as_user=c.user))
            for c in world.callers
        }
        # Lists first: the searches below name other teams' patients, and the audit log keeps what
        # a user typed, which the site's admin may read.
        for paths in (_lists(world), _searches(world)):
            for caller in world.callers:
                for path, typed in paths:
                    response = await clients[caller.name].get("/api/v1" + path)
                    answered[f"{caller.name} GET {path}"] = response.status_code
                    # A refusal may repeat the id the caller sent; anything else is a leak.
                    found = world.leaks(caller, response.text.replace(typed, "") if typed else response.text)
                    if found:
                        leaks[f"{caller.name} GET {path} ({response.status_code})"] = found
    assert leaks == {}
    # The check saw real answers: every caller's own lists came back full.
    assert all(answered[f"{c.name} GET /patients"] == 200 for c in world.callers)
    assert answered["admin OTHER GET /dead-letters"] == 200


async def test_the_check_finds_a_leak_when_there_is_one(database: Database) -> None:
    """The same check, shown an answer that carries another site's dead letter, reports it."""
    world = await build(database)
    other_admin = next(c for c in world.callers if c.name == "admin OTHER")
    async with api_client(
        database, as_user=next(c.user for c in world.callers if c.name == "admin TEST")
    ) as a:
        own = (await a.get("/api/v1/dead-letters")).text
    assert world.leaks(other_admin, own), "site TEST's dead letters name its devices"
