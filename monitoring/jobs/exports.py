"""Scheduled export work: run the FHIR Bulk Data exports admins asked for, oldest first."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from monitoring.fhir.bulk_writer import run_next
from monitoring.jobs.scheduler import Job
from monitoring.storage.db import Database

log = logging.getLogger(__name__)


def bulk_export_job(database: Database, directory: Path, every: timedelta = timedelta(seconds=5)) -> Job:
    """Each run takes the waiting exports one after another until none is left."""

    async def run() -> None:
        while (done := await run_next(database, directory)) is not None:
            log.info("bulk export %s finished", done)

    return Job(name="bulk-export", every=every, run=run)
