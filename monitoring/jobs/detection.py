"""Scheduled detection work: the data-gap heartbeat and detector checkpoints."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from monitoring.alerts.from_findings import AlertChange, apply_findings
from monitoring.detection import repository
from monitoring.detection.checkpoints import Checkpointer
from monitoring.detection.detectors.gaps import DataGaps
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
