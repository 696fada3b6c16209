"""``python -m benchmarks.bulk_export``: a FHIR Bulk Data export of millions of observations, timed,
with the exporting process's peak memory.

    python -m benchmarks.bulk_export --observations 10000000 [--patients 1000] [--deidentify]

Seeds the database ``rpm_bench_export`` on the PostgreSQL under test (replacing it): ``--patients``
wearables through the enrolment manifest, then their minute heart rates with one INSERT ...
SELECT over generate_series (``--observations`` rows in all). It then queues a system-level
export and runs it in this process as the scheduler would (``fhir.bulk_writer.run_next``),
sampling this process's resident memory every 0.2 s, and prints the time, rate, peak and the
bytes written. The files go to a temporary folder that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path
from uuid import uuid4

from sqlalchemy import text

from benchmarks.cohort import _patient, fresh_database
from monitoring.catalogue import Series
from monitoring.domain import Condition
from monitoring.fhir import bulk_repository
from monitoring.fhir.bulk_writer import run_next
from monitoring.registry.manifest import Manifest, ManifestSite, enrol_manifest
from monitoring.storage.db import Database

DATABASE = "rpm_bench_export"


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakMemory:
    """The highest resident memory of this process while it runs (sampled every 0.2 s)."""

    def __init__(self) -> None:
        self.peak = rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_mib())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())


async def seed(admin_url: str, patients: int, observations: int) -> tuple[str, float]:
    started = time.perf_counter()
    url = await fresh_database(admin_url, DATABASE)
    database = Database(url)
    try:
        entries = [
            _patient(f"E{i}", [Condition.HEART_FAILURE], f"EXPORT-W{i:06d}", "wearable")
            for i in range(patients)
        ]
        for first in range(0, len(entries), 2000):
            chunk = entries[first : first + 2000]
            await enrol_manifest(
                database, Manifest(site=ManifestSite(code="BENCH", name="Bench"), patients=chunk)
            )
        minutes = -(-observations // patients)
        async with database.unit_of_work() as session:
            await session.execute(text("SET LOCAL statement_timeout = 0"))  # one long bulk load
            await session.execute(
                text(
                    "SELECT ensure_reading_partitions("
                    "now() - make_interval(mins => :m) - interval '1 day', now())"
                ),
                {"m": minutes},
            )
            await session.execute(
                text(
                    "INSERT INTO readings "
                    "(device_id, series, measured_at, patient_id, value, seq, received_at) "
                    "SELECT d.id, :series, t, d.patient_id, 60 + (extract(epoch FROM t)::bigint % 40), 0, t "
                    "FROM devices d CROSS JOIN generate_series("
                    "now() - make_interval(mins => :m), now() - interval '1 minute', interval '1 minute') "
                    "AS t "
                    "LIMIT :n"
                ),
                {"series": int(Series.HEART_RATE), "m": minutes, "n": observations},
            )
            await session.execute(text("ANALYZE readings"))
    finally:
        await database.dispose()
    return url, time.perf_counter() - started


async def export(url: str, directory: Path, deidentify: bool) -> tuple[float, dict[str, int]]:
    database = Database(url)
    try:
        async with database.unit_of_work() as session:
            site = (await session.execute(text("SELECT id FROM sites WHERE code = 'BENCH'"))).scalar_one()
            await bulk_repository.create(
                session=session,
                site_id=site,
                requested_by=uuid4(),
                care_team_id=None,
                types=["Patient", "Device", "Observation"],
                since=None,
                deidentify=deidentify,
                request_url="bench",
            )
        started = time.perf_counter()
        done = await run_next(database, directory)
        took = time.perf_counter() - started
        async with database.unit_of_work() as session:
            status, output = (
                await session.execute(
                    text("SELECT status, output FROM bulk_exports WHERE id = :id"), {"id": done}
                )
            ).one()
        if status != "completed":
            raise RuntimeError(f"the export ended {status}")
        return took, {f["type"]: f["count"] for f in output}
    finally:
        await database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bulk_export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--observations", type=int, default=10_000_000)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--deidentify", action="store_true")
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="a database on the server under test (the benchmark's own is created beside it)",
    )  # fmt: skip
    args = parser.parse_args()
    if not 1 <= args.patients <= 100_000 or not 1 <= args.observations <= 50_000_000:
        parser.error("--patients must be 1..100000 and --observations 1..50000000")
    url, seeded = asyncio.run(seed(args.database_url, args.patients, args.observations))
    with tempfile.TemporaryDirectory() as folder, PeakMemory() as memory:
        before = rss_mib()
        took, counts = asyncio.run(export(url, Path(folder), args.deidentify))
        written = sum(p.stat().st_size for p in Path(folder).rglob("*.ndjson"))
    observations = counts.get("Observation", 0)
    print(  # noqa: T201 - the figures are the command's output
        f"seeded {args.patients:,} patients and {observations:,} observations in {seeded:.0f} s\n"
        f"export{' (de-identified)' if args.deidentify else ''}: {took:.0f} s, "
        f"{observations / took:,.0f} observations/s, {written / 2**30:.2f} GiB of NDJSON\n"
        f"resident memory of the exporting process: {before:.0f} MiB before, peak {memory.peak:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
