"""One benchmark run: load through the real Mosquitto into ``monitoring ingest`` workers and PostgreSQL.

Throughput is what the workers report stored and evaluated (their
``rpm_readings_stored_total``) per second between the end of the warm-up and
the end of the load. Latency is from a probe's publish to the NOTIFY that the
API's live stream relays to the care team, for readings that must alert.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import asyncpg
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks import realistic as realistic_cohort
from benchmarks.cohort import BENCH_DATABASE, Cohort, prepare, sole_user, stored_and_refused, trend_latencies
from benchmarks.figures import Figures, batch_counts, batching, counts, ms, pct, throughput
from benchmarks.nats_cluster import NatsCluster
from benchmarks.procstat import cores_used, cpu_and_system_seconds, resident_mib
from benchmarks.publisher import HeartRatePublishers, Job, Tally
from benchmarks.workers import BenchWorker, process_groups, wait_held
from devices.contract import Reading, ReadingsMessage, encode, readings_topic

# Each run has its own topic root and client ids: a session a previous run left on the
# broker (it lives for RPM_MQTT__SESSION_EXPIRY_S) must not hand this run its old messages.
TOPIC_ROOT = f"bench{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Options:
    patients: int = 2000
    rate: float = 1000.0  # messages per second offered
    duration_s: float = 60.0
    warmup_s: float = 10.0
    per_message: int = 5
    workers: int = 1
    publishers: int = 2
    probes: int = 200
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    broker: str = "127.0.0.1:1883"
    mqtt_protocol: str = "5"  # "3.1.1" for brokers that speak only that (NATS, amqtt)
    broker_process: str = "mosquitto"  # whose CPU counts as the broker's (e.g. nats-server, beam.smp)
    # A three-node NATS cluster started for the run (devices speak MQTT to it); workers lease this
    # many partitions (monitoring.ingest.leases). 0: the MQTT broker above.
    nats_partitions: int = 0
    # "heart_rate": one wearable per patient sending heart rate only, detectors cold; "realistic": the
    # simulator's patients and devices, detectors warm from a previous phase (benchmarks.realistic).
    cohort: str = "heart_rate"
    warm_rate: float = 0.0  # messages per second of the realistic cohort's warm-up phase; 0: ``rate``
    idle_s: float = 10.0  # CPU used with no load, measured just before it (a worker's fixed cost)


def run(options: Options) -> Figures:
    return asyncio.run(_run(options))


async def _run(options: Options) -> Figures:
    async with sole_user(options.database_url, BENCH_DATABASE):
        return await _run_with_broker(options)


async def _run_with_broker(options: Options) -> Figures:
    if not options.nats_partitions:
        return await _run_on(options, None)
    with tempfile.TemporaryDirectory(prefix="rpm-bench-nats-") as folder:
        cluster = NatsCluster(Path(folder), options.nats_partitions)
        cluster.start()
        try:
            return await _run_on(options, cluster)
        finally:
            cluster.stop()


async def _run_on(options: Options, cluster: NatsCluster | None) -> Figures:
    figures = Figures(options=asdict(options))
    if cluster is not None:
        options = replace(options, broker=f"127.0.0.1:{cluster.mqtt_ports[0]}", mqtt_protocol="3.1.1")
    host, port = options.broker.split(":")
    ports = cluster.mqtt_ports if cluster is not None else [int(port)]
    realistic = options.cohort == "realistic"
    start = realistic_cohort.start_of_data()
    fleet = (
        realistic_cohort.manifest_patients(realistic_cohort.cohort(options.patients, start))
        if realistic
        else None
    )
    cohort = await prepare(
        options.database_url, patients=options.patients, probes=options.probes, fleet=fleet
    )

    def started() -> list[BenchWorker]:
        made = [
            BenchWorker(
                i, options.workers, cohort.url, options.broker, TOPIC_ROOT, options.mqtt_protocol, cluster
            )
            for i in range(options.workers)
        ]
        for worker in made:
            worker.start()
        return made

    workers = started()
    try:
        for worker in workers:
            await asyncio.to_thread(worker.wait_ready)
        await asyncio.to_thread(wait_held, workers, cluster)
        rss_empty = sum(resident_mib(w.pid) for w in workers)
        publishers: _Publishers = (
            realistic_cohort.CohortPublishers.spread(
                host,
                ports,
                TOPIC_ROOT,
                options.patients,
                start,
                options.publishers,
                warm_rate=options.warm_rate or options.rate,
                rate=options.rate,
                duration_s=options.duration_s,
            )  # fmt: skip
            if realistic
            else HeartRatePublishers(
                [
                    Job(
                        host,
                        ports[i % len(ports)],
                        TOPIC_ROOT,
                        cohort.load_serials[i :: options.publishers],
                        options.rate / options.publishers,
                        options.duration_s,
                        options.per_message,
                        seed=i,
                    )
                    for i in range(options.publishers)
                ]  # fmt: skip
            )
        )
        warm: list[Tally] = []
        if isinstance(publishers, realistic_cohort.CohortPublishers):
            warm = await asyncio.to_thread(publishers.warm)
            await _drain(workers, 0, warm, 0, options, most_s=3600)  # a backlog may wait on the cluster
            figures.warm_redeliveries_absorbed = int(
                sum(w.metric("rpm_readings_duplicate_total") for w in workers)
            )
            # Stopped, each worker saves its patients' detector state; started again, restores it.
            await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in workers))
            workers = started()
            for worker in workers:
                await asyncio.to_thread(worker.wait_ready)
            await asyncio.to_thread(wait_held, workers, cluster)
            figures.warm_readings = sum(t.readings for t in warm)
        listener = await asyncpg.connect(cohort.url.replace("+asyncpg", ""))
        opened: dict[str, float] = {}  # alert id -> when its NOTIFY arrived (epoch seconds)

        def heard(connection: object, pid: int, channel: str, payload: object) -> None:
            event = json.loads(str(payload))
            if event["kind"] == "opened":
                opened[event["alert_id"]] = time.time()

        await listener.add_listener("alert_events", heard)
        groups = process_groups(workers, options.broker_process, cluster)
        figures.idle_cores = await asyncio.to_thread(cores_used, groups, options.idle_s)
        rss_ready = sum(resident_mib(w.pid) for w in workers)
        before = {name: cpu_and_system_seconds(pids) for name, pids in groups.items()}
        stored_before = sum(w.stored() for w in workers)
        batches_before = await asyncio.to_thread(batch_counts, workers)
        began = time.monotonic()
        tallies, series, probes_sent = await _load(options, cohort, host, ports, workers, publishers)
        stored_at_end = await _drain(workers, stored_before, tallies, len(probes_sent), options)
        elapsed = time.monotonic() - began
        batching(figures, batches_before, await asyncio.to_thread(batch_counts, workers), elapsed)
        after = {
            name: cpu_and_system_seconds(pids)
            for name, pids in process_groups(workers, options.broker_process, cluster).items()
        }
        await asyncio.sleep(1.0)
        await listener.close()
        throughput(figures, options.warmup_s, series, tallies)
        rows, refused = await stored_and_refused(cohort.url)
        evaluated = stored_at_end - stored_before
        counts(
            figures, [*warm, *tallies], evaluated, (rows, refused), workers, options.rate, len(probes_sent)
        )
        await _latency(figures, cohort, probes_sent, opened)
        processed = max(1, stored_at_end - stored_before)
        cpu = {name: after[name][0] - before.get(name, (0.0, 0.0))[0] for name in after}
        figures.system_share = {
            name: round((after[name][1] - before.get(name, (0.0, 0.0))[1]) / cpu[name], 3)
            for name in cpu
            if cpu[name] > 0
        }
        cpu["load generator"] = sum(t.cpu_s for t in tallies)
        figures.cpu_s_per_1k_readings = {k: round(v / processed * 1000, 4) for k, v in cpu.items()}
        figures.cpu_share = {k: round(v / elapsed / (os.cpu_count() or 1), 3) for k, v in cpu.items()}
        figures.worker_rss_mib = [round(resident_mib(w.pid), 1) for w in workers]
        growth = sum(figures.worker_rss_mib) - rss_ready
        figures.worker_rss_growth_kib_per_patient = round(growth * 1024 / options.patients, 2)
        # What the patients' state costs: the workers at the end against the same workers empty.
        figures.worker_rss_kib_per_patient = round(
            (sum(figures.worker_rss_mib) - rss_empty) * 1024 / options.patients, 2
        )
    finally:
        await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in workers))
    await _state(figures, cohort)
    took = sorted(await trend_latencies(cohort.url, cohort.trend_patient))
    figures.trend_query_ms = {"p50": ms(pct(took, 50)), "p95": ms(pct(took, 95)), "max": ms(took[-1])}
    return figures


class _Publishers(Protocol):
    def measure(self) -> None: ...

    def tallies(self) -> list[Tally]: ...


async def _load(
    options: Options,
    cohort: Cohort,
    host: str,
    ports: list[int],
    workers: list[BenchWorker],
    publishers: _Publishers,
) -> tuple[list[Tally], list[tuple[float, int]], dict[str, float]]:
    """Run the publishers and the probe; sample the workers' stored count every second."""
    publishers.measure()
    version = paho.MQTTv5 if options.mqtt_protocol == "5" else paho.MQTTv311
    probe = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe", protocol=version)
    probe.connect(host, ports[0])
    probe.loop_start()
    sent: dict[str, float] = {}
    series: list[tuple[float, int]] = []
    started = time.monotonic()
    # Probes are spread over the steady state, after the warm-up.
    gap = (options.duration_s - options.warmup_s) / max(1, len(cohort.probe_serials))
    next_probe = started + options.warmup_s
    next_sample = started
    probes = iter(cohort.probe_serials)
    while time.monotonic() - started < options.duration_s:
        now = time.monotonic()
        if now >= next_sample:
            series.append(
                (now - started, sum(await asyncio.gather(*(asyncio.to_thread(w.stored) for w in workers))))
            )
            next_sample += 1.0
        if now >= next_probe and (serial := next(probes, None)) is not None:
            at = datetime.now(UTC)
            message = ReadingsMessage(
                device_id=serial,
                seq=1,
                sent_at=at,
                readings=[Reading(metric="glucose_meter", unit="mg/dL", at=at, value=45.0)],
            )
            sent[serial] = time.time()
            probe.publish(readings_topic(serial, TOPIC_ROOT), encode(message), qos=1)
            next_probe += gap
        await asyncio.sleep(0.005)
    tallies = await asyncio.to_thread(publishers.tallies)
    probe.disconnect()
    probe.loop_stop()
    return tallies, series, sent


async def _drain(
    workers: list[BenchWorker],
    before: int,
    tallies: list[Tally],
    probes: int,
    options: Options,
    *,
    most_s: float = 120,
) -> int:
    """Wait (at most ``most_s``) until the workers have stored all that was acknowledged, or nothing
    more for 20 s (a reading refused into dead letters is never stored: the figures count it lost)."""
    expected = before + sum(t.readings for t in tallies) + probes
    deadline = time.monotonic() + most_s
    stored, changed = before, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - changed < 20:
        now = sum(await asyncio.gather(*(asyncio.to_thread(w.stored) for w in workers)))
        if now >= expected:
            break
        if now != stored:
            stored, changed = now, time.monotonic()
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)
    return sum(await asyncio.gather(*(asyncio.to_thread(w.stored) for w in workers)))


async def _latency(
    figures: Figures, cohort: Cohort, sent: dict[str, float], opened: dict[str, float]
) -> None:
    connection = await asyncpg.connect(cohort.url.replace("+asyncpg", ""))
    try:
        rows = await connection.fetch(
            "SELECT a.id::text AS alert, d.serial FROM alerts a "
            "JOIN devices d ON d.patient_id = a.patient_id "
            "WHERE d.serial LIKE 'BENCH-G%' AND a.alert_type = 'threshold.glucose_meter.low'"
        )
    finally:
        await connection.close()
    delays = sorted(
        opened[row["alert"]] - sent[row["serial"]]
        for row in rows
        if row["alert"] in opened and row["serial"] in sent
    )
    figures.latency_samples = len(delays)
    if delays:
        figures.latency_ms = {p: ms(pct(delays, int(p[1:]))) for p in ("p50", "p95", "p99")}
        figures.latency_ms["max"] = ms(delays[-1])


async def _state(figures: Figures, cohort: Cohort) -> None:
    connection = await asyncpg.connect(cohort.url.replace("+asyncpg", ""))
    try:
        row = await connection.fetchrow(
            "SELECT avg(pg_column_size(state)) AS mean, sum(pg_column_size(state)) AS total "
            "FROM detector_checkpoints"
        )
    finally:
        await connection.close()
    assert row is not None
    figures.detector_state_bytes_per_patient = round(float(row["mean"] or 0), 1)
    figures.detector_state_total_mib = round(float(row["total"] or 0) / 2**20, 2)
