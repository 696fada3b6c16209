"""``python -m tests.faults``: the full fault-injection run, with its figures printed.

python -m tests.faults --faults 24 --seed 1 [--replicated | --cluster] [--json report.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from tests.faults.report import render
from tests.faults.run import Plan, run_faults


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=24, help="faults to inject (default 24)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tick", type=float, default=0.25, help="seconds between messages of a device")
    parser.add_argument(
        "--replicated",
        action="store_true",
        help="a primary and a synchronous standby; primary failovers instead of database restarts",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="three NATS nodes, two workers sharing leased partitions, a replicated database; "
        "kills of a worker, a node and the primary",
    )
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args()
    plan = Plan(
        faults=args.faults, seed=args.seed, tick_s=args.tick, replicated=args.replicated, cluster=args.cluster
    )
    run = run_faults(plan)
    print(render(run))  # noqa: T201 - the figures are the command's output
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(asdict(run), out, indent=2, default=str)
    return 0 if run.outcome is not None and run.outcome.clean else 1


if __name__ == "__main__":
    sys.exit(main())
