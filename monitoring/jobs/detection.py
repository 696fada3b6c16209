"""Scheduled detection and alert work: data-gap heartbeat, detector checkpoints, escalation, webhooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import httpx

from monitoring.alerts.escalation import Escalation, escalate_due, summary
from monitoring.alerts.service import AlertChange, apply_findings
from monitoring.alerts.webhooks import WebhookSender, deliver_due
from monitoring.config import AlertSettings
from monitoring.detection import repository
from monitoring.detection.checkpoints import Checkpointer
from monitoring.detection.gaps import DataGaps
from monitoring.jobs.scheduler import Job
from monitoring.storage.db import Database

log = logging.getLogger(__name__)


async def check_data_gaps(
    database: Database, gaps: DataGaps, now: datetime | None = None
) -> list[AlertChange]:
    """One heartbeat: raise, escalate or clear data-gap alerts from when each device was last heard."""
    now = now or datetime.now(UTC)
    async with database.sessions() as session:
        devices = await repository.monitored_devices(session=session)
        active = await repository.active_gaps(session=session)
    findings = gaps.check(devices, now, active)
    if not findings:
        return []
    async with database.unit_of_work() as session:
        return await apply_findings(session=session, findings=findings, now=now)


def data_gap_job(
    database: Database,
    every: timedelta = timedelta(minutes=1),
    on_alerts: Callable[[Sequence[AlertChange]], None] | None = None,
) -> Job:
    gaps = DataGaps()

    async def run() -> None:
        changes = await check_data_gaps(database, gaps)
        if changes and on_alerts is not None:
            on_alerts(changes)

    return Job(name="data-gap-heartbeat", every=every, run=run)


def checkpoint_job(checkpointer: Checkpointer, every: timedelta) -> Job:
    async def run() -> None:
        await checkpointer.save()

    return Job(name="detector-checkpoint", every=every, run=run)


def escalation_job(
    database: Database,
    settings: AlertSettings,
    every: timedelta = timedelta(seconds=30),
    on_escalations: Callable[[Sequence[Escalation]], None] | None = None,
) -> Job:
    """Escalate unacknowledged alerts on a schedule (the scheduler role runs it)."""

    async def run() -> None:
        async with database.unit_of_work() as session:
            done = await escalate_due(session=session, settings=settings, now=datetime.now(UTC))
        if done:
            log.warning("escalated %d unacknowledged alerts: %s", len(done), summary(done))
            if on_escalations is not None:
                on_escalations(done)

    return Job(name="alert-escalation", every=every, run=run)


def webhook_job(
    database: Database, settings: AlertSettings, *, production: bool, every: timedelta = timedelta(seconds=10)
) -> Job:
    """Send due webhook deliveries (the scheduler role runs it)."""
    client = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False, trust_env=False)
    sender = WebhookSender(client, allow_loopback=settings.webhook_allow_loopback, require_https=production)

    async def run() -> None:
        async with database.unit_of_work() as session:
            outcome = await deliver_due(session=session, sender=sender, now=datetime.now(UTC))
        if outcome.retrying or outcome.failed:
            log.warning("webhooks: %s", outcome)

    return Job(name="webhook-delivery", every=every, run=run)
