"""The one module that knows APScheduler (pinned to 3.x; 4.0 is still a pre-release)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

JobFunction = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every: timedelta
    run: JobFunction
    # Run once shortly after start as well, rather than waiting a whole period.
    run_at_start: bool = True


class Scheduler:
    """Runs jobs on fixed intervals on the service's event loop; a job never overlaps itself."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self.runs: dict[str, int] = {job.name: 0 for job in jobs}
        self.failures: dict[str, int] = {job.name: 0 for job in jobs}

    def start(self) -> None:
        for job in self.jobs:
            first = datetime.now(UTC) + timedelta(seconds=1) if job.run_at_start else None
            self._scheduler.add_job(
                self._guarded(job),
                "interval",
                seconds=job.every.total_seconds(),
                id=job.name,
                next_run_time=first,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(job.every.total_seconds()),
            )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def _guarded(self, job: Job) -> JobFunction:
        async def run() -> None:
            try:
                await job.run()
                self.runs[job.name] += 1
            except Exception:
                self.failures[job.name] += 1
                log.exception("scheduled job %s failed", job.name)

        return run
