"""``python -m simulators``: generate a cohort and play it to a broker or a file, with its labels."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from devices.client import BrokerAddress
from devices.contract import DEFAULT_TOPIC_ROOT
from simulators.cohort import DEFAULT_MIX, build_cohort
from simulators.run import play
from simulators.sinks import MAX_CLIENTS_PER_PROCESS, JsonlSink, MqttSink, Sink


def _mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, _, share = part.partition("=")
        if name not in DEFAULT_MIX:
            raise argparse.ArgumentTypeError(
                f"unknown condition {name!r}; choose from {', '.join(DEFAULT_MIX)}"
            )
        mix[name] = float(share)
    return mix


def _speed(text: str) -> float | None:
    return None if text == "max" else float(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulators",
        description="Simulate patients with chronic disease and their home devices, with labels.",
    )
    parser.add_argument("--patients", type=int, default=20, help="cohort size (default 20)")
    parser.add_argument("--days", type=float, default=7, help="simulated days (default 7)")
    parser.add_argument("--seed", type=int, default=1, help="everything follows from it (default 1)")
    parser.add_argument(
        "--mix", type=_mix, default=None, help="condition shares, e.g. copd=0.5,heart_failure=0.5"
    )
    parser.add_argument(
        "--speed", type=_speed, default=None, help="simulated seconds per second, or 'max' (default: max)"
    )
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=None,
        help="simulated start (ISO 8601); default: so the run ends now at max speed, or now when paced",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--broker", help="publish over MQTT to this broker, e.g. mqtt://127.0.0.1:1883")
    target.add_argument("--out", type=Path, help="write the wire-format stream to this JSONL file instead")
    parser.add_argument("--protocol", choices=("5", "3.1.1"), default="5", help="MQTT version for --broker")
    parser.add_argument("--topic-root", default=DEFAULT_TOPIC_ROOT)
    parser.add_argument("--labels", type=Path, required=True, help="ground-truth labels (JSONL) go here")
    parser.add_argument("--manifest", type=Path, help="the cohort to enrol (JSON, for `monitoring enrol`)")
    parser.add_argument(
        "--outbox-dir", type=Path, default=Path(".sim-outbox"), help="device outboxes (SQLite)"
    )
    parser.add_argument(
        "--plan-only", action="store_true", help="write labels and manifest, send nothing (enrol first)"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=600, help="seconds to wait for outboxes to drain"
    )
    return parser


def broker_address(url: str, protocol: str) -> BrokerAddress:
    parts = urlsplit(url)
    return BrokerAddress(
        parts.hostname or "127.0.0.1", parts.port or 1883, parts.username, parts.password, protocol=protocol
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    start = args.start or (now if args.speed is not None else now - timedelta(days=args.days))
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    cohort = build_cohort(size=args.patients, start=start, days=args.days, seed=args.seed, mix=args.mix)
    args.labels.parent.mkdir(parents=True, exist_ok=True)
    with args.labels.open("w") as labels:
        for label in cohort.labels():
            labels.write(json.dumps(label) + "\n")
    if args.manifest:
        args.manifest.write_text(json.dumps(cohort.manifest(), indent=1))
    counts = cohort.counts()
    print(  # noqa: T201 - a command-line tool reports to its user
        f"cohort: {len(cohort.patients)} patients, {sum(len(p.devices) for p in cohort.patients)} devices, "
        f"{counts['event']} events, {counts['non_event']} non-events, {counts['fault']} faults "
        f"from {cohort.start:%Y-%m-%d %H:%M} to {cohort.end:%Y-%m-%d %H:%M} UTC",
        file=sys.stderr,
    )
    if args.plan_only:
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sink: Sink
    out_file = None
    if not (args.broker or args.out):
        print("nothing to send to: give --broker or --out (or --plan-only)", file=sys.stderr)  # noqa: T201
        return 2
    devices = sum(len(p.devices) for p in cohort.patients)
    if args.broker and devices > MAX_CLIENTS_PER_PROCESS:
        print(  # noqa: T201
            f"{devices} devices is more than one process can connect ({MAX_CLIENTS_PER_PROCESS}); "
            "run several processes with fewer patients and different seeds",
            file=sys.stderr,
        )
        return 2
    if args.broker:
        sink = MqttSink(broker_address(args.broker, args.protocol), args.outbox_dir, root=args.topic_root)
    else:
        out_file = args.out.open("wb")
        sink = JsonlSink(out_file)
    try:
        stats = play(cohort, sink, speed=args.speed, live=True, stop=stop, progress=sys.stderr)
        left = sink.finish(args.drain_timeout)
    finally:
        if out_file is not None:
            out_file.close()
    print(  # noqa: T201
        f"sent {stats.messages:,} messages with {stats.readings:,} readings in {stats.wall_s:.1f} s; "
        f"{left} still waiting in outboxes",
        file=sys.stderr,
    )
    return 0 if left == 0 else 1
