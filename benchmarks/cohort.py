"""The benchmark's own database on the PostgreSQL under test: schema, enrolled fleet, 30 days of one patient.

Patients are enrolled through the product's manifest path. The trend
patient's month of minute heart rates is written with one INSERT ... SELECT
over generate_series, which is how a long history would be bulk-loaded.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from monitoring.catalogue import Series
from monitoring.domain import Condition
from monitoring.registry.manifest import (
    Manifest,
    ManifestDevice,
    ManifestPatient,
    ManifestSite,
    enrol_manifest,
)
from monitoring.storage import migrate
from monitoring.storage.db import Database

BENCH_DATABASE = "rpm_bench"


@dataclass(frozen=True)
class Cohort:
    url: str
    load_serials: list[str]
    probe_serials: list[str]
    trend_patient: UUID


def database_url(admin_url: str, name: str = BENCH_DATABASE) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class DatabaseInUse(RuntimeError):
    pass


@asynccontextmanager
async def sole_user(admin_url: str, name: str) -> AsyncIterator[None]:
    """Hold the server's advisory lock for ``name`` while a run uses that database.

    Each run drops and recreates its database (``fresh_database``, WITH FORCE): a second run
    started before the first has finished would swap the database under the first one's
    workers, which then write to (and fail on) the new one, and both runs' figures are wrong.
    """
    connection = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    try:
        if not await connection.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", name):
            raise DatabaseInUse(
                f"another benchmark run is using database {name} on this server; wait until it has finished"
            )
        yield  # the lock is released when the connection closes
    finally:
        await connection.close()


async def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``admin_url``, migrate it; return its URL."""
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            await connection.execute(text(f"CREATE DATABASE {name}"))
    finally:
        await engine.dispose()
    url = database_url(admin_url, name)
    await migrate.upgrade(url)
    return url


async def prepare(
    admin_url: str, *, patients: int, probes: int, fleet: list[ManifestPatient] | None = None
) -> Cohort:
    """A fresh database: ``patients`` wearables (or the patients of ``fleet`` with their devices),
    ``probes`` glucometers and the trend patient."""
    url = await fresh_database(admin_url, BENCH_DATABASE)
    probe = [f"BENCH-G{i:05d}" for i in range(probes)]
    if fleet is None:
        load = [f"BENCH-W{i:06d}" for i in range(patients)]
        entries = [
            _patient(f"W{i}", [Condition.HYPERTENSION], serial, "wearable") for i, serial in enumerate(load)
        ]
    else:
        load = [device.serial for patient in fleet for device in patient.devices]
        entries = list(fleet)
    entries += [
        _patient(f"G{i}", [Condition.TYPE1_DIABETES], serial, "glucometer") for i, serial in enumerate(probe)
    ]
    entries.append(_patient("TREND", [Condition.HEART_FAILURE], "BENCH-TREND", "wearable"))
    database = Database(url)
    try:
        for start in range(0, len(entries), 2000):
            chunk = entries[start : start + 2000]
            await enrol_manifest(
                database, Manifest(site=ManifestSite(code="BENCH", name="Bench"), patients=chunk)
            )
        async with database.unit_of_work() as session:
            trend = (
                await session.execute(text("SELECT patient_id, id FROM devices WHERE serial = 'BENCH-TREND'"))
            ).one()
            # 30 days of minute readings, ending now (43,200 rows).
            await session.execute(
                text(
                    "INSERT INTO readings "
                    "(device_id, series, measured_at, patient_id, value, seq, received_at) "
                    "SELECT :device, :series, t, :patient, 70 + 10 * sin(extract(epoch FROM t) / 3600), 0, t "
                    "FROM generate_series(now() - interval '30 days', now() - interval '1 minute', "
                    "interval '1 minute') AS t"
                ),
                {"device": trend.id, "series": int(Series.HEART_RATE), "patient": trend.patient_id},
            )
    finally:
        await database.dispose()
    return Cohort(url, load, probe, trend.patient_id)


def _patient(mrn: str, conditions: list[Condition], serial: str, kind: str) -> ManifestPatient:
    return ManifestPatient(
        mrn=mrn, display_name=mrn, conditions=conditions, devices=[ManifestDevice(serial=serial, kind=kind)]
    )


async def trend_latencies(url: str, patient_id: UUID, *, queries: int = 50) -> list[float]:
    """Seconds per trend query: 30 days of the trend patient, downsampled to 500 buckets in the database."""
    from datetime import UTC, datetime, timedelta

    from monitoring.readings.service import patient_trend

    database = Database(url)
    took: list[float] = []
    try:
        for _ in range(queries):
            end = datetime.now(UTC)
            started = time.perf_counter()
            async with database.sessions() as session:
                trend = await patient_trend(
                    session=session,
                    patient_id=patient_id,
                    series=Series.HEART_RATE,
                    start=end - timedelta(days=30),
                    end=end,
                    points=500,
                )
            took.append(time.perf_counter() - started)
            assert trend.buckets, "the trend patient has data"
    finally:
        await database.dispose()
    return took


async def stored_and_refused(url: str) -> tuple[int, int]:
    """Rows the load and the probes left (the trend patient's history excluded), and readings refused.

    A refused reading is a dead letter: in the realistic cohort, the simulator's artefacts that
    ingestion refuses as implausible (one dead letter per reading)."""
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        rows = await connection.fetchval(
            "SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id "
            "WHERE d.serial <> 'BENCH-TREND'"
        )
        refused = await connection.fetchval("SELECT count(*) FROM dead_letters")
        return int(rows), int(refused)
    finally:
        await connection.close()
