"""Storage upkeep jobs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from monitoring.jobs.scheduler import Job
from monitoring.readings.partition_repository import ensure_partitions
from monitoring.reports.glance import refresh
from monitoring.storage.db import Database

log = logging.getLogger(__name__)


def partition_job(database: Database) -> Job:
    async def run() -> None:
        async with database.unit_of_work() as session:
            created = await ensure_partitions(session=session, now=datetime.now(UTC))
        if created:
            log.info("created %d readings partitions", created)

    return Job(name="reading-partitions", every=timedelta(hours=6), run=run)


def glance_job(database: Database, every: timedelta) -> Job:
    """Keep the patient panel's slow facts (time in ranges, adherence, sparklines) fresh."""

    async def run() -> None:
        async with database.unit_of_work() as session:
            await refresh(session=session, now=datetime.now(UTC))

    return Job(name="patient-glance", every=every, run=run)
