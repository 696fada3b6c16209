"""One benchmark run: load through the real Mosquitto into ``monitoring ingest`` workers and PostgreSQL.

Throughput is what the workers report stored and evaluated (their
``rpm_readings_stored_total``) per second between the end of the warm-up and
the end of the load. Latency is from a probe's publish to the NOTIFY that the
API's live stream relays to the care team, for readings that must alert.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.cohort import Cohort, prepare, trend_latencies
from benchmarks.nats_cluster import NatsCluster
from benchmarks.procstat import cpu_seconds, pids_of, resident_mib, stop_process
from benchmarks.publisher import Job, Tally, publish
from devices.contract import Reading, ReadingsMessage, encode, readings_topic
from monitoring.embedded.broker import free_port

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


@dataclass
class Figures:
    options: dict[str, object]
    offered_msgs_per_s: float = 0.0
    published_msgs: int = 0
    published_readings: int = 0
    stored_readings: int = 0
    lost: int = 0
    duplicates_stored: int = 0
    redeliveries_absorbed: int = 0
    steady_readings_per_s: float = 0.0
    steady_msgs_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    latency_samples: int = 0
    cpu_s_per_1k_readings: dict[str, float] = field(default_factory=dict)
    cpu_share: dict[str, float] = field(default_factory=dict)
    worker_rss_mib: list[float] = field(default_factory=list)
    worker_rss_growth_kib_per_patient: float = 0.0  # ready -> end of load: mostly detector state
    detector_state_bytes_per_patient: float = 0.0
    detector_state_total_mib: float = 0.0
    trend_query_ms: dict[str, float] = field(default_factory=dict)


def run(options: Options) -> Figures:
    return asyncio.run(_run(options))


async def _run(options: Options) -> Figures:
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
    cohort = await prepare(options.database_url, patients=options.patients, probes=options.probes)
    workers = [_Worker(i, cohort.url, options, cluster) for i in range(options.workers)]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            await asyncio.to_thread(worker.wait_ready)
        listener = await asyncpg.connect(cohort.url.replace("+asyncpg", ""))
        opened: dict[str, float] = {}  # alert id -> when its NOTIFY arrived (epoch seconds)

        def heard(connection: object, pid: int, channel: str, payload: object) -> None:
            event = json.loads(str(payload))
            if event["kind"] == "opened":
                opened[event["alert_id"]] = time.time()

        await listener.add_listener("alert_events", heard)
        groups = _process_groups(workers, options.broker_process, cluster)
        rss_ready = sum(resident_mib(w.pid) for w in workers)
        cpu_before = {name: cpu_seconds(pids) for name, pids in groups.items()}
        stored_before = sum(w.stored() for w in workers)
        started = time.monotonic()
        tallies, series, probes_sent = await _load(options, cohort, host, ports, workers)
        stored_at_end = await _drain(workers, stored_before, tallies, len(probes_sent), options)
        elapsed = time.monotonic() - started
        cpu_after = {
            name: cpu_seconds(pids)
            for name, pids in _process_groups(workers, options.broker_process, cluster).items()
        }
        await asyncio.sleep(1.0)
        await listener.close()
        _throughput(figures, options, series)
        rows = await _stored_rows(cohort.url)
        evaluated = stored_at_end - stored_before
        _counts(figures, tallies, evaluated, rows, workers, options, len(probes_sent))
        await _latency(figures, cohort, probes_sent, opened)
        processed = max(1, stored_at_end - stored_before)
        cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
        cpu["load generator"] = sum(t.cpu_s for t in tallies)
        figures.cpu_s_per_1k_readings = {k: round(v / processed * 1000, 4) for k, v in cpu.items()}
        figures.cpu_share = {k: round(v / elapsed / (os.cpu_count() or 1), 3) for k, v in cpu.items()}
        figures.worker_rss_mib = [round(resident_mib(w.pid), 1) for w in workers]
        growth = sum(figures.worker_rss_mib) - rss_ready
        figures.worker_rss_growth_kib_per_patient = round(growth * 1024 / options.patients, 2)
    finally:
        # SIGTERM: every patient's detector state is checkpointed before the worker exits.
        await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in workers))
    await _state(figures, cohort)
    took = sorted(await trend_latencies(cohort.url, cohort.trend_patient))
    figures.trend_query_ms = {"p50": _ms(_pct(took, 50)), "p95": _ms(_pct(took, 95)), "max": _ms(took[-1])}
    return figures


class _Worker:
    def __init__(self, index: int, url: str, options: Options, cluster: NatsCluster | None) -> None:
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RPM_")}
        self.env |= {
            "RPM_DATABASE__URL": url,
            "RPM_MQTT__URL": f"mqtt://{options.broker}",
            "RPM_MQTT__TOPIC_ROOT": TOPIC_ROOT,
            "RPM_MQTT__CLIENT_ID": f"{TOPIC_ROOT}-ingest-{index}",
            "RPM_MQTT__SESSION_EXPIRY_S": "600",
            "RPM_MQTT__PROTOCOL": options.mqtt_protocol,
            "RPM_INGEST__HTTP_PORT": str(self.port),
            "RPM_LOG_LEVEL": "ERROR",
        }
        if cluster is not None:  # workers lease partitions of patients at run time
            self.env["RPM_NATS__URL"] = cluster.url
            self.env["RPM_NATS__PARTITIONS"] = str(cluster.partitions)
        elif options.workers > 1:  # each worker owns a share of the patients (monitoring.ingest.ownership)
            self.env["RPM_INGEST__PARTITIONS"] = str(options.workers)
            self.env["RPM_INGEST__PARTITION"] = str(index)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "monitoring_cli", "ingest"], env=self.env)

    def wait_ready(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("an ingestion worker did not become ready")

    def metric(self, name: str) -> float:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as reply:  # noqa: S310
                text = reply.read().decode()
        except OSError:
            return 0.0
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def stored(self) -> int:
        return int(self.metric("rpm_readings_stored_total"))

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace_s=60)
            self.process = None


def _process_groups(workers: list[_Worker], broker: str, cluster: NatsCluster | None) -> dict[str, list[int]]:
    nodes = [node.process.pid for node in cluster.nodes if node.process] if cluster is not None else None
    return {
        "broker": nodes if nodes is not None else pids_of(broker),
        "ingest": [w.pid for w in workers],
        "postgresql": pids_of("postgres"),
    }


async def _load(
    options: Options, cohort: Cohort, host: str, ports: list[int], workers: list[_Worker]
) -> tuple[list[Tally], list[tuple[float, int]], dict[str, float]]:
    """Run the publishers and the probe; sample the workers' stored count every second."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[Tally] = context.Queue()
    share = options.rate / options.publishers
    processes = []
    for i in range(options.publishers):
        serials = cohort.load_serials[i :: options.publishers]
        port = ports[i % len(ports)]  # a cluster's nodes in turn
        job = Job(host, port, TOPIC_ROOT, serials, share, options.duration_s, options.per_message, seed=i)
        processes.append(context.Process(target=publish, args=(job, results), daemon=True))
    for process in processes:
        process.start()
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
    tallies = [await asyncio.to_thread(results.get, True, 120) for _ in processes]
    for process in processes:
        process.join(10)
    probe.disconnect()
    probe.loop_stop()
    return tallies, series, sent


async def _drain(
    workers: list[_Worker], before: int, tallies: list[Tally], probes: int, options: Options
) -> int:
    """Wait (at most 120 s) until the workers have stored everything that was acknowledged."""
    expected = before + sum(t.readings for t in tallies) + probes
    deadline = time.monotonic() + 120
    stored = before
    while time.monotonic() < deadline:
        stored = sum(await asyncio.gather(*(asyncio.to_thread(w.stored) for w in workers)))
        if stored >= expected:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)
    return sum(await asyncio.gather(*(asyncio.to_thread(w.stored) for w in workers)))


def _throughput(figures: Figures, options: Options, series: list[tuple[float, int]]) -> None:
    steady = [(t, n) for t, n in series if t >= options.warmup_s]
    if len(steady) >= 2:
        (t0, n0), (t1, n1) = steady[0], steady[-1]
        figures.steady_readings_per_s = round((n1 - n0) / (t1 - t0), 1)
        figures.steady_msgs_per_s = round(figures.steady_readings_per_s / options.per_message, 1)


def _counts(
    figures: Figures,
    tallies: list[Tally],
    evaluated: int,
    rows: int,
    workers: list[_Worker],
    options: Options,
    probes: int,
) -> None:
    """Published (acknowledged by the broker) against rows in the database and readings evaluated."""
    figures.offered_msgs_per_s = options.rate
    figures.published_msgs = sum(t.acknowledged for t in tallies)
    figures.published_readings = sum(t.readings for t in tallies) + probes
    figures.stored_readings = rows
    figures.lost = max(0, figures.published_readings - rows)
    # More rows than published, or a reading counted as new (and evaluated) twice.
    figures.duplicates_stored = max(0, rows - figures.published_readings) + max(0, evaluated - rows)
    figures.redeliveries_absorbed = int(sum(w.metric("rpm_readings_duplicate_total") for w in workers))


async def _stored_rows(url: str) -> int:
    """Rows the load and the probes left in the database (the trend patient's history excluded)."""
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id "
                "WHERE d.serial LIKE 'BENCH-W%' OR d.serial LIKE 'BENCH-G%'"
            )
        )
    finally:
        await connection.close()


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
        figures.latency_ms = {p: _ms(_pct(delays, int(p[1:]))) for p in ("p50", "p95", "p99")}
        figures.latency_ms["max"] = _ms(delays[-1])


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


def _pct(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
