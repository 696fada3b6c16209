"""``python -m tests.fuzz [--messages N] [--seed S]``: fuzz the ingestion path and print its figures."""

from __future__ import annotations

import argparse
import json
import sys

from tests.fuzz.run import fuzz


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000, help="how many messages (default 100000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report = fuzz(min(args.messages, 5_000_000), args.seed)  # bounded: a load loop never runs away
    print(json.dumps(report.as_dict(), indent=2))  # noqa: T201 - the figures are the output
    for failure in report.failures[:20]:
        print("FAIL", failure, file=sys.stderr)  # noqa: T201
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
