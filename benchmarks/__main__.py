"""``python -m benchmarks``: the whole pipeline under load on this machine, figures as a table and JSON.

    python -m benchmarks --patients 2000 --rate 1000 --duration 60 [--workers 2] [--json out.json]
    python -m benchmarks --cohort realistic --patients 200 --rate 1000 --duration 40 --nats-cluster 32

Needs the PostgreSQL and Mosquitto under test (default 127.0.0.1:5432 and :1883); it creates and
replaces the database ``rpm_bench`` on that server and uses the topic root ``bench``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from benchmarks.cohort import DatabaseInUse
from benchmarks.figures import Figures
from benchmarks.run import Options, run


def render(f: Figures) -> str:
    o = f.options
    rows = [
        (
            "offered",
            f"{f.offered_msgs_per_s:,.0f} msg/s x {f.readings_per_message} readings, {o['patients']} "
            f"{'patients (realistic fleet, warm)' if o['cohort'] == 'realistic' else 'devices'}, "
            f"{o['workers']} worker(s), {o['duration_s']} s"
            + (
                f"; warmed first with {f.warm_readings:,} readings "
                f"(redeliveries absorbed {f.warm_redeliveries_absorbed})"
                if f.warm_readings
                else ""
            ),
        ),
        (
            "sustained (after warm-up)",
            f"{f.steady_msgs_per_s:,.0f} msg/s = {f.steady_readings_per_s:,.0f} readings/s "
            "stored and evaluated",
        ),
        (
            "published / stored",
            f"{f.published_readings:,} / {f.stored_readings:,} readings: lost {f.lost}, refused as "
            f"implausible {f.refused_readings} (dead letters), "
            f"duplicated {f.duplicates_stored} (redeliveries absorbed {f.redeliveries_absorbed})",
        ),
        (
            "publish -> alert",
            ", ".join(f"{k} {v} ms" for k, v in f.latency_ms.items()) + f" ({f.latency_samples} probes)",
        ),
        ("CPU s per 1k readings", ", ".join(f"{k} {v}" for k, v in f.cpu_s_per_1k_readings.items())),
        ("CPU share of the machine", ", ".join(f"{k} {v:.0%}" for k, v in f.cpu_share.items())),
        ("of which system time", ", ".join(f"{k} {v:.0%}" for k, v in f.system_share.items())),
        (
            "batches stored",
            f"{f.batches_per_s:,.1f} per s, {f.messages_per_batch} messages each (all workers)",
        ),
        ("cores used with no load", ", ".join(f"{k} {v}" for k, v in f.idle_cores.items())),
        (
            "ingest RSS",
            f"{f.worker_rss_mib} MiB; {f.worker_rss_kib_per_patient} KiB per patient over empty workers, "
            f"growth during the load {f.worker_rss_growth_kib_per_patient} KiB per patient",
        ),
        (
            "detector state (checkpoint)",
            f"{f.detector_state_bytes_per_patient:,.0f} B per patient, "
            f"{f.detector_state_total_mib} MiB total",
        ),
        ("trend query, 30 days of minutes", ", ".join(f"{k} {v} ms" for k, v in f.trend_query_ms.items())),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000, help="simulated devices (one per patient)")
    parser.add_argument("--rate", type=float, default=1000, help="messages per second offered")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (bounded)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds left out of the throughput")
    parser.add_argument("--per-message", type=int, default=5, help="readings per message")
    parser.add_argument(
        "--workers", type=int, default=1, help="ingestion workers, each owning a share of the patients"
    )
    parser.add_argument("--publishers", type=int, default=2, help="load-generator processes")
    parser.add_argument("--probes", type=int, default=200, help="alerting readings timed publish -> alert")
    parser.add_argument(
        "--database-url", default=Options.database_url, help="an existing database on the server"
    )
    parser.add_argument("--broker", default=Options.broker, help="host:port of the MQTT broker")
    parser.add_argument(
        "--mqtt-protocol", choices=("5", "3.1.1"), default="5", help="what the workers speak to the broker"
    )
    parser.add_argument(
        "--broker-process", default="mosquitto", help="the broker's process name, for its CPU figures"
    )
    parser.add_argument(
        "--nats-cluster",
        type=int,
        default=0,
        metavar="PARTITIONS",
        help="start a three-node NATS cluster (R3) for the run; workers lease this many partitions",
    )
    parser.add_argument(
        "--cohort",
        choices=("heart_rate", "realistic"),
        default="heart_rate",
        help="heart_rate: one wearable per patient, heart rate only, detectors cold; realistic: the "
        "simulator's patients and devices, detectors warmed by a first phase (benchmarks.realistic)",
    )
    parser.add_argument(
        "--warm-rate",
        type=float,
        default=0.0,
        help="realistic cohort: messages per second of the warm-up phase (default: --rate); on a NATS "
        "cluster JetStream keeps a backlog, a single Mosquitto may drop one past its queue limits",
    )
    parser.add_argument(
        "--idle", type=float, default=10.0, help="seconds to measure the CPU used with no load, before it"
    )
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.duration <= 3600 or not 0 < args.rate <= 200_000:
        parser.error("--duration must be 1..3600 s and --rate 0..200000 msg/s")
    options = Options(
        patients=args.patients,
        rate=args.rate,
        duration_s=args.duration,
        warmup_s=min(args.warmup, args.duration / 2),
        per_message=args.per_message,
        workers=args.workers,
        publishers=args.publishers,
        probes=args.probes,
        database_url=args.database_url,
        broker=args.broker,
        mqtt_protocol=args.mqtt_protocol,
        broker_process=args.broker_process,
        nats_partitions=args.nats_cluster,
        cohort=args.cohort,
        warm_rate=args.warm_rate,
        idle_s=max(0.0, min(args.idle, 600.0)),
    )
    try:
        figures = run(options)
    except DatabaseInUse as error:
        print(f"python -m benchmarks: {error}", file=sys.stderr)  # noqa: T201
        return 2
    print(render(figures))  # noqa: T201 - the figures are the command's output
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(asdict(figures), out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
