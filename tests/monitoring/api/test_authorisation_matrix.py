"""The authorisation matrix: every endpoint of the API, called by every role, answers as the rules say.

A second test fails when an endpoint is added without a row here, so the
matrix stays complete. Calls that change something get a fresh target each
(alert, device, webhook), so one role's call cannot change what the next sees.
"""

from __future__ import annotations

import itertools
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from monitoring.access.principal import Role
from monitoring.alerts import webhook_repository
from monitoring.api.app import create_app
from monitoring.catalogue import Series
from monitoring.fhir import bulk_repository
from monitoring.fhir.resources import observation_id
from monitoring.fhir.subscriptions import read_request
from monitoring.registry.service import ensure_site, register_device
from monitoring.storage.db import Database
from monitoring.storage.models import Reading, Webhook
from tests import factories
from tests.api_support import SETTINGS, api_client
from tests.factories import user
from tests.monitoring.api.access_world import World, build

pytestmark = pytest.mark.integration

SUBSCRIPTION = {
    "resourceType": "Subscription",
    "criteria": "http://testserver/api/v1/fhir/SubscriptionTopic/alert-changes",
    "channel": {"type": "rest-hook", "endpoint": "https://hooks.example.org/fhir/{n}"},
}
ROLES = ("admin", "coordinator", "clinician", "outsider", "foreign_admin")
CARE_TEAM_READ = (200, 200, 200, 404, 404)  # the team's members and the site's admin
CARE_TEAM_WORK = (403, 200, 200, 404, 403)  # alert work: the team's coordinators and clinicians
CLINICAL_EDIT = (200, 403, 200, 403, 404)  # care plans: clinicians of the team, the site's admin
ADMIN_READ = (200, 403, 403, 403, 200)  # each admin sees their own site's
ADMIN_CREATE = (201, 403, 403, 403, 201)
ADMIN_CHANGE = (200, 403, 403, 403, 404)  # of this site's things: another site's admin finds nothing
EVERYONE = (200, 200, 200, 200, 200)  # lists and own profile, filtered to what the caller may see
# Bulk alert work: care roles only; an alert out of reach is a refused item in a 200 answer.
BULK_WORK = (403, 200, 200, 200, 403)

# {p} the team-A patient, {t} team A, {u} team A's coordinator, {n} a unique number;
# {a} a fresh open alert of {p}; {d} a fresh unassigned device, {e} one assigned to {p};
# {w} a fresh webhook of the site, {v} a fresh clinician of the site, {g} a fresh CGM of {p}.
MATRIX: list[tuple[str, str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("GET", "/auth/me", None, EVERYONE),
    ("PATCH", "/auth/me", {"glucose_unit": "mmol/L"}, EVERYONE),
    ("GET", "/panel", None, EVERYONE),
    ("POST", "/auth/refresh", None, EVERYONE),
    ("GET", "/patients", None, EVERYONE),
    ("POST", "/patients", {"mrn": "MATRIX-{n}", "display_name": "M"}, ADMIN_CREATE),
    ("GET", "/patients/{p}", None, CARE_TEAM_READ),
    ("GET", "/patients/{p}/readings?series=heart_rate", None, CARE_TEAM_READ),
    ("GET", "/patients/{p}/trend?series=heart_rate", None, CARE_TEAM_READ),
    ("PUT", "/patients/{p}/care-plan/heart_rate", {"low": 40, "high": 130}, CLINICAL_EDIT),
    ("DELETE", "/patients/{p}/care-plan/heart_rate", None, CLINICAL_EDIT),
    ("GET", "/patients/{p}/reports/glucose", None, CARE_TEAM_READ),
    ("GET", "/patients/{p}/reports/vitals", None, CARE_TEAM_READ),
    ("GET", "/patients/{p}/reports/chart.png?series=heart_rate", None, CARE_TEAM_READ),
    ("GET", "/patients/{p}/reports/summary.pdf", None, CARE_TEAM_READ),
    ("GET", "/fhir/Observation?patient={p}", None, CARE_TEAM_READ),
    ("GET", "/fhir/Observation/$lastn?patient={p}", None, CARE_TEAM_READ),
    ("GET", "/fhir/Flag?patient={p}", None, CARE_TEAM_READ),
    ("GET", "/fhir/Patient", None, EVERYONE),
    ("GET", "/fhir/Device", None, EVERYONE),
    ("GET", "/fhir/Patient/{p}", None, CARE_TEAM_READ),
    ("GET", "/fhir/Observation/{o}", None, CARE_TEAM_READ),
    ("GET", "/fhir/Flag/{a}", None, CARE_TEAM_READ),
    ("GET", "/fhir/Device/{e}", None, CARE_TEAM_READ),
    ("GET", "/fhir/SubscriptionTopic", None, EVERYONE),
    ("GET", "/fhir/SubscriptionTopic/alert-changes", None, EVERYONE),
    ("POST", "/fhir/Subscription", SUBSCRIPTION, ADMIN_CREATE),
    ("GET", "/fhir/Subscription", None, ADMIN_READ),
    ("GET", "/fhir/Subscription/{s}", None, ADMIN_CHANGE),
    ("GET", "/fhir/Subscription/{s}/$status", None, ADMIN_CHANGE),
    ("DELETE", "/fhir/Subscription/{s}", None, ADMIN_CHANGE),
    # Bulk export kick-offs: admins get past the role check to the missing Prefer header (400).
    ("GET", "/fhir/$export", None, (400, 403, 403, 403, 400)),
    ("GET", "/fhir/Patient/$export", None, (400, 403, 403, 403, 400)),
    ("GET", "/fhir/Group/{t}/$export", None, (400, 403, 403, 403, 400)),
    ("GET", "/fhir/$export-status/{x}", None, (202, 403, 403, 403, 404)),
    ("DELETE", "/fhir/$export-status/{x}", None, (202, 403, 403, 403, 404)),
    ("GET", "/fhir/$export-file/{x}/Patient.ndjson", None, (404, 403, 403, 403, 404)),  # not finished
    ("GET", "/teams/{t}", None, CARE_TEAM_READ),
    ("GET", "/teams/{t}/triage", None, CARE_TEAM_READ),
    ("POST", "/teams/{t}/on-call", None, CARE_TEAM_WORK),
    # Run in role order: the admin hands back the clinician's on-call; nobody else holds it then.
    ("DELETE", "/teams/{t}/on-call", None, (200, 403, 403, 404, 404)),
    ("GET", "/alerts", None, EVERYONE),
    ("GET", "/alerts/dismissals", None, EVERYONE),
    ("GET", "/alerts/facets", None, EVERYONE),
    ("POST", "/alerts/bulk", {"alert_ids": ["{a}"], "action": "acknowledge"}, BULK_WORK),
    ("GET", "/alerts/{a}", None, CARE_TEAM_READ),
    ("POST", "/alerts/{a}/acknowledge", None, CARE_TEAM_WORK),
    ("POST", "/alerts/{a}/resolve", {"note": "seen to"}, CARE_TEAM_WORK),
    ("POST", "/alerts/{a}/dismiss", {"reason": "cuff slipped"}, CARE_TEAM_WORK),
    ("POST", "/alerts/{a}/assign", {"user_id": "{u}"}, CARE_TEAM_WORK),
    ("POST", "/alerts/{a}/snooze", {"until": "{soon}"}, CARE_TEAM_WORK),
    ("POST", "/alerts/{a}/comments", {"text": "called the patient"}, CARE_TEAM_WORK),
    ("GET", "/teams", None, ADMIN_READ),
    ("POST", "/teams", {"name": "Team {n}"}, ADMIN_CREATE),
    ("GET", "/users", None, ADMIN_READ),
    ("PATCH", "/users/{v}", {"display_name": "Renamed"}, ADMIN_CHANGE),
    (
        "POST",
        "/users",
        {
            "username": "user{n}",
            "display_name": "U",
            "role": "clinician",
            "password": "a long enough passphrase",
        },
        ADMIN_CREATE,
    ),
    ("GET", "/audit", None, ADMIN_READ),
    ("GET", "/webhooks", None, ADMIN_READ),
    ("POST", "/webhooks", {"url": "https://hooks.example.org/{n}"}, ADMIN_CREATE),
    ("POST", "/webhooks/{w}/disable", None, ADMIN_CHANGE),
    ("GET", "/dead-letters", None, ADMIN_READ),
    ("GET", "/devices", None, ADMIN_READ),
    ("POST", "/devices", {"serial": "MATRIX-DEV-{n}", "kind": "wearable"}, ADMIN_CREATE),
    ("POST", "/devices/{d}/credentials", None, ADMIN_CHANGE),
    ("POST", "/devices/{d}/assign", {"patient_id": "{p}"}, ADMIN_CHANGE),
    ("POST", "/devices/{e}/unassign", None, ADMIN_CHANGE),
    ("POST", "/devices/{d}/retire", None, ADMIN_CHANGE),
    ("POST", "/devices/{g}/nightscout", None, (201, 403, 403, 403, 404)),
    ("DELETE", "/devices/{g}/nightscout", None, ADMIN_CHANGE),
]
# Reached without a token: signing in, health, and the live stream (which checks its token itself).
PUBLIC = {"POST /auth/token", "GET /health", "GET /ready", "GET /fhir/metadata"}

_numbers = itertools.count(1)


def test_every_endpoint_has_a_row() -> None:
    app = create_app(
        settings=SETTINGS, database=Database("postgresql+asyncpg://unused@127.0.0.1/unused"), probes=[]
    )
    endpoints = {
        f"{method.upper()} {path.removeprefix('/api/v1')}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    in_matrix = {f"{method} {_template(path)}" for method, path, _, _ in MATRIX}
    # Nightscout uploader routes take the device's own secret, never a user's token (test_nightscout).
    uploader = {e for e in endpoints if e.split(" ")[1].startswith("/ns/")}
    assert uploader
    assert endpoints - PUBLIC - uploader == {_generic(e) for e in in_matrix}


async def test_the_authorisation_matrix(database: Database) -> None:
    world = await build(database)
    got: dict[tuple[str, str], int] = {}
    want: dict[tuple[str, str], int] = {}
    async with AsyncExitStack() as stack:
        clients = {
            role: await stack.enter_async_context(api_client(database, as_user=world.users[role]))
            for role in ROLES
        }
        for method, template, body, expected in MATRIX:
            for role, status in zip(ROLES, expected, strict=True):
                values = await _values(database, world, template, body)
                path = "/api/v1" + template.format(**values)
                response = await clients[role].request(method, path, json=_fill(body, values))
                got[(f"{method} {template}", role)] = response.status_code
                want[(f"{method} {template}", role)] = status
                if response.status_code >= 400:
                    assert _error_message(response.json()), (method, template, role)
    assert got == want


def _error_message(body: dict[str, Any]) -> str:
    """What a refusal says: our error body, or a FHIR OperationOutcome's diagnostics."""
    if body.get("resourceType") == "OperationOutcome":
        return str(body["issue"][0]["diagnostics"])
    return str(body["error"]["message"])


def _template(path: str) -> str:
    return path.split("?")[0]


_GENERIC = {
    "{p}": "{patient_id}",
    "{t}": "{team_id}",
    "{a}": "{alert_id}",
    "{d}": "{device_id}",
    "{e}": "{device_id}",
    "{g}": "{device_id}",
    "{w}": "{webhook_id}",
    "{v}": "{user_id}",
    "{o}": "{observation_id}",
    "{s}": "{subscription_id}",
    "{x}": "{export_id}",
    "/Patient.ndjson": "/{name}",
    "/alert-changes": "/{topic_id}",
}


def _generic(endpoint: str) -> str:
    for short, name in _GENERIC.items():
        endpoint = endpoint.replace(short, name)
    return endpoint.replace("/heart_rate", "/{series}")


async def _values(
    database: Database, world: World, template: str, body: dict[str, Any] | None
) -> dict[str, str]:
    text = template + repr(body)
    values = {
        "p": str(world.patient),
        "t": str(world.teams[0]),
        "u": str(world.users["coordinator"]),
        "n": str(next(_numbers)),
        "soon": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
    }
    if "{a}" in text:
        values["a"] = str(await _fresh_alert(database, world.patient))
    if "{d}" in text:
        values["d"] = str(await _fresh_device(database))
    if "{e}" in text:
        values["e"] = str(await _fresh_device(database, world.patient))
    if "{g}" in text:
        values["g"] = str(await _fresh_device(database, world.patient, kind="cgm"))
    if "{w}" in text:
        values["w"] = str(await _fresh_webhook(database))
    if "{x}" in text:
        values["x"] = str(await _fresh_export(database))
    if "{s}" in text:
        values["s"] = str(await _fresh_subscription(database))
    if "{o}" in text:
        values["o"] = await _an_observation(database, world.patient)
    if "{v}" in text:
        values["v"] = str(await user(database, Role.CLINICIAN))
    return values


def _fill(body: dict[str, Any] | None, values: dict[str, str]) -> dict[str, Any] | None:
    if body is None:
        return None
    return {k: _filled(v, values) for k, v in body.items()}


def _filled(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, list):
        return [_filled(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _filled(v, values) for k, v in value.items()}
    return value


async def _fresh_alert(database: Database, patient_id: UUID) -> UUID:
    return await factories.alert(database, patient_id, prefix="matrix", severity="high")


async def _fresh_device(database: Database, patient_id: UUID | None = None, kind: str = "wearable") -> UUID:
    async with database.unit_of_work() as session:
        site = await ensure_site(session=session, code="TEST", name="Test site")
        device = await register_device(
            session=session,
            serial=f"MATRIX-{uuid4().hex[:10]}",
            kind=kind,
            patient_id=patient_id,
            site_id=site.id,
        )
        return device.id


async def _fresh_webhook(database: Database) -> UUID:
    async with database.unit_of_work() as session:
        site = await ensure_site(session=session, code="TEST", name="Test site")
        hook = Webhook(site_id=site.id, url="https://hooks.example.org/matrix", secret="s" * 32)
        session.add(hook)
        await session.flush()
        return hook.id


async def _an_observation(database: Database, patient_id: UUID) -> str:
    """The FHIR id of one of the patient's stored readings."""
    async with database.unit_of_work() as session:
        mine = select(Reading).where(Reading.patient_id == patient_id).limit(1)
        stored = (await session.scalars(mine)).one()
        return observation_id(Series(stored.series), stored.device_id, stored.measured_at)


async def _fresh_subscription(database: Database) -> UUID:
    """A FHIR subscription of the test site (its admin created it)."""
    async with database.unit_of_work() as session:
        site = await ensure_site(session=session, code="TEST", name="Site TEST")
        hook = await webhook_repository.create_subscription(
            session=session,
            site_id=site.id,
            wanted=read_request(SUBSCRIPTION, "http://testserver/api/v1/fhir"),
            base="http://testserver/api/v1/fhir",
        )
        return hook.id


async def _fresh_export(database: Database) -> UUID:
    """A Bulk Data export of the test site, waiting to start."""
    async with database.unit_of_work() as session:
        site = await ensure_site(session=session, code="TEST", name="Site TEST")
        export = await bulk_repository.create(
            session=session,
            site_id=site.id,
            requested_by=uuid4(),
            care_team_id=None,
            types=["Patient"],
            since=None,
            deidentify=False,
            request_url="http://testserver/api/v1/fhir/$export",
        )
        return export.id
