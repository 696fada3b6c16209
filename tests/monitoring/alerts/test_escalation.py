"""Escalation timing on a controlled clock: when an unacknowledged alert moves up, and when it stops."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from monitoring.alerts.escalation import escalate_due
from monitoring.config import AlertSettings
from monitoring.storage.db import Database
from monitoring.storage.models import Alert, AlertEvent
from tests.api_support import api_client
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.integration
LIMITS = AlertSettings(escalate_critical_s=300, escalate_high_s=900, max_escalations=2)


async def _alerts(database: Database) -> list[Alert]:
    async with database.sessions() as session:
        return list((await session.scalars(select(Alert).order_by(Alert.opened_at))).all())


async def _run(database: Database, at: datetime) -> list[tuple[str, int]]:
    async with database.unit_of_work() as session:
        done = await escalate_due(session=session, settings=LIMITS, now=at)
    return [(e.severity_to.value, e.level) for e in done]


async def test_an_unacknowledged_alert_escalates_on_time_and_stops_at_the_last_tier(
    database: Database,
) -> None:
    await build(database)
    first, second = await _alerts(database)
    assert (first.severity, second.severity) == ("high", "high")
    async with database.unit_of_work() as session:  # the second one is acknowledged: it never escalates
        (await session.get(Alert, second.id)).status = "acknowledged"  # type: ignore[union-attr]
    opened = first.opened_at
    assert await _run(database, opened + timedelta(seconds=899)) == []
    assert await _run(database, opened + timedelta(seconds=900)) == [("critical", 1)]
    assert await _run(database, opened + timedelta(seconds=900 + 299)) == []  # critical waits 5 min
    assert await _run(database, opened + timedelta(seconds=900 + 300)) == [("critical", 2)]
    assert await _run(database, opened + timedelta(hours=5)) == []  # the last tier
    levels = {a.id: a.escalation_level for a in await _alerts(database)}
    assert (levels[first.id], levels[second.id]) == (2, 0)


async def test_a_snoozed_alert_waits_out_its_snooze_first(database: Database) -> None:
    await build(database)
    first, _ = await _alerts(database)
    until = first.opened_at + timedelta(hours=1)
    async with database.unit_of_work() as session:
        for alert in await session.scalars(select(Alert)):
            alert.snoozed_until = until
    assert await _run(database, first.opened_at + timedelta(minutes=30)) == []
    assert await _run(database, until + timedelta(seconds=899)) == []
    assert len(await _run(database, until + timedelta(seconds=900))) == 2


async def test_escalation_goes_to_whoever_took_the_teams_on_call(database: Database) -> None:
    world = await build(database)
    team_a, team_b = world.teams
    async with api_client(database, as_user=world.users["clinician"]) as client:
        taken = await client.post(f"/api/v1/teams/{team_a}/on-call")
        assert taken.status_code == 200
        assert taken.json()["on_call"]["user_id"] == str(world.users["clinician"])
        assert (await client.post(f"/api/v1/teams/{team_b}/on-call")).status_code == 404, "not their team"
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        refused = await client.delete(f"/api/v1/teams/{team_a}/on-call")
        assert refused.status_code == 403, "only its holder or an admin hands it back"
    first, second = await _alerts(database)
    await _run(database, first.opened_at + timedelta(seconds=900))
    by_patient = {a.patient_id: a for a in await _alerts(database)}
    assert by_patient[world.patient].assigned_to == world.users["clinician"]
    assert by_patient[world.other_patient].assigned_to is None, "team B has nobody on call"
    async with database.sessions() as session:
        (event,) = await session.scalars(
            select(AlertEvent).where(
                AlertEvent.alert_id == by_patient[world.patient].id, AlertEvent.kind == "escalated"
            )
        )
    assert event.detail["on_call"] == str(world.users["clinician"])

    async with api_client(database, as_user=world.users["coordinator"]) as client:  # the hand-over
        handed = await client.post(f"/api/v1/teams/{team_a}/on-call")
        assert handed.json()["on_call"]["user_id"] == str(world.users["coordinator"])
    await _run(database, first.opened_at + timedelta(seconds=1200))
    by_patient = {a.patient_id: a for a in await _alerts(database)}
    assert by_patient[world.patient].assigned_to == world.users["coordinator"]
