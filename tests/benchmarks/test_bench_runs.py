"""The benchmark command works end to end on a tiny load (its figures are read, not timed)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import asyncpg
import pytest

from benchmarks.__main__ import render
from benchmarks.cohort import BENCH_DATABASE, DatabaseInUse, sole_user
from benchmarks.run import Options, run
from tests.services import DATABASE_URL, MQTT_URL, require_mosquitto, require_postgres

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_a_short_benchmark_stores_everything_and_times_every_probe() -> None:
    require_postgres()
    require_mosquitto()
    broker = MQTT_URL.removeprefix("mqtt://")
    figures = run(
        Options(
            patients=50,
            rate=50,
            duration_s=6,
            warmup_s=2,
            probes=10,
            publishers=1,
            database_url=DATABASE_URL,
            broker=broker,
            idle_s=1.0,
        )
    )
    print(render(figures))  # noqa: T201
    assert figures.published_readings > 500
    assert (figures.lost, figures.duplicates_stored) == (0, 0)
    assert figures.stored_readings == figures.published_readings
    assert figures.latency_samples == 10
    assert set(figures.cpu_s_per_1k_readings) == {"broker", "ingest", "postgresql", "load generator"}
    assert set(figures.idle_cores) == {"broker", "ingest", "postgresql"}
    # A worker reads and writes sockets: some of its CPU is the kernel's, never all of it.
    assert set(figures.system_share) <= {"broker", "ingest", "postgresql"}
    assert 0 < figures.system_share["ingest"] < 1
    assert 0 <= figures.idle_cores["ingest"] < 1.0, "a worker waiting for messages uses less than a core"
    assert figures.batches_per_s > 0
    assert 1 <= figures.messages_per_batch <= 2000, "a batch holds at least one message, at most max_batch"
    assert figures.trend_query_ms["p95"] > 0
    assert figures.detector_state_bytes_per_patient > 0


@pytest.mark.timeout(120)
def test_the_stage_benchmark_prints_every_step() -> None:
    require_postgres()
    command = [sys.executable, "-m", "benchmarks.stages", "--messages", "300", "--devices", "30"]
    done = subprocess.run(
        [*command, "--database-url", DATABASE_URL], capture_output=True, text=True, timeout=100
    )
    assert done.returncode == 0, done.stderr
    steps = ("decode", "attribute + standardise", "detect", "store (client side)", "total")
    for step in steps:
        line = next(line for line in done.stdout.splitlines() if line.strip().startswith(step))
        assert line.endswith("us/reading")
    assert "detector state:" in done.stdout


@pytest.mark.timeout(240)
def test_the_stage_benchmark_on_the_realistic_cohort_finds_the_same_each_run() -> None:
    # Its digest is what shows an optimisation changed nothing but the time, so it must not drift.
    command = [sys.executable, "-m", "benchmarks.stages", "--cohort", "realistic", "--patients", "12"]
    outputs = []
    for extra in ([], ["--by-detector"]):
        done = subprocess.run(
            [*command, "--hours", "48", "--no-store", *extra], capture_output=True, text=True, timeout=110
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    findings = [next(line for line in out.splitlines() if "findings:" in line) for out in outputs]
    assert findings[0] == findings[1], "the timers must not change what the detectors find"
    count = re.search(r"findings: ([\d,]+), digest [0-9a-f]{16}$", findings[0])
    assert count is not None, findings[0]
    assert int(count[1].replace(",", "")) > 0, findings[0]
    warmed = re.search(r"^warmed 12 patients with ([\d,]+) readings$", outputs[0], re.MULTILINE)
    assert warmed is not None, outputs[0]
    assert int(warmed[1].replace(",", "")) > 100_000, "two days of every device"
    parts = outputs[1].split("detect, by part")[1]
    for part in ("signal gate", "personal_model", "news2", "care_plan_threshold"):
        assert part in parts
    assert "KiB per patient as checkpointed" in outputs[0]


@pytest.mark.timeout(420)
def test_the_realistic_cohort_warms_the_detectors_then_loses_nothing() -> None:
    require_postgres()
    require_mosquitto()
    figures = run(
        Options(
            patients=3,
            rate=40,
            warm_rate=60,
            duration_s=6,
            warmup_s=2,
            probes=5,
            publishers=1,
            database_url=DATABASE_URL,
            broker=MQTT_URL.removeprefix("mqtt://"),
            cohort="realistic",
            idle_s=1.0,
        )
    )
    print(render(figures))  # noqa: T201
    # Two days of three patients' devices before the measured part: the simulator's batches.
    assert figures.warm_readings > 20_000
    assert figures.readings_per_message > 5
    assert (figures.lost, figures.duplicates_stored) == (0, 0)
    # A simulated artefact refused as implausible is a dead letter, counted, not lost.
    assert figures.stored_readings + figures.refused_readings == figures.published_readings
    assert figures.published_readings > figures.warm_readings
    assert figures.latency_samples == 5
    assert figures.detector_state_bytes_per_patient > 0


@pytest.mark.timeout(60)
async def test_a_second_run_on_the_same_server_is_refused_and_leaves_the_first_alone() -> None:
    """Each run drops and recreates its database: a second one would pull it from under the first."""
    require_postgres()

    async def identity() -> int | None:  # a database dropped and created again has a new oid
        connection = await asyncpg.connect(DATABASE_URL.replace("+asyncpg", ""))
        try:
            oid: int | None = await connection.fetchval(
                "SELECT oid FROM pg_database WHERE datname = $1", BENCH_DATABASE
            )
            return oid
        finally:
            await connection.close()

    async with sole_user(DATABASE_URL, BENCH_DATABASE):  # as a run in progress holds it
        before = await identity()
        with pytest.raises(DatabaseInUse, match="another benchmark run is using database rpm_bench"):
            await asyncio.to_thread(run, Options(patients=5, rate=1, duration_s=1, database_url=DATABASE_URL))
        assert await identity() == before, "refused before touching the database the first run uses"
    # Released with the first run: the next one may start.
    async with sole_user(DATABASE_URL, BENCH_DATABASE):
        pass
