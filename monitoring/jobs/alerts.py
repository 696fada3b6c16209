"""Scheduled alert work: escalation of unacknowledged alerts and webhook delivery."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import httpx

from monitoring.alerts.escalation import Escalation, escalate_due, summary
from monitoring.alerts.webhooks import WebhookSender, deliver_due
from monitoring.config import AlertSettings
from monitoring.jobs.scheduler import Job
from monitoring.storage.db import Database

log = logging.getLogger(__name__)


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
