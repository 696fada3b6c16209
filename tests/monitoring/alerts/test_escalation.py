"""Escalation timing on a controlled clock: when an unacknowledged alert moves up, and when it stops."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from monitoring.alerts.escalation import escalate_due
from monitoring.config import AlertSettings
from monitoring.storage.db import Database
from monitoring.storage.models import Alert
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
