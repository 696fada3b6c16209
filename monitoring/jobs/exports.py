"""Scheduled export work: run the FHIR Bulk Data exports admins asked for, oldest first."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from monitoring.fhir.bulk_writer import expire_finished, run_next
from monitoring.jobs.scheduler import Job
from monitoring.storage.db import Database

log = logging.getLogger(__name__)


def bulk_export_job(
    database: Database, directory: Path, keep: timedelta, every: timedelta = timedelta(seconds=5)
) -> Job:
    """Each run deletes the files of exports finished more than ``keep`` ago, then takes the waiting
    exports one after another until none is left."""

    async def run() -> None:
        for expired in await expire_finished(database, directory, keep):
            log.info("bulk export %s expired: its files are deleted", expired)
        while (done := await run_next(database, directory)) is not None:
            log.info("bulk export %s finished", done)

    return Job(name="bulk-export", every=every, run=run)
