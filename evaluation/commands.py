"""The ``evaluate`` and ``replay`` commands: offline, no services needed."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from evaluation.cgm_report import run_cgm
from evaluation.evaluate import evaluate, write_json
from evaluation.replay import ReplayError, help_text, parse_conditions, replay_file
from evaluation.report import markdown, plot_examples
from evaluation.scoring import Label

DEFAULT_START = datetime(2026, 3, 2, tzinfo=UTC)


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patients", type=int, default=60, help="cohort size (default 60)")
    parser.add_argument("--days", type=float, default=14, help="simulated days (default 14)")
    parser.add_argument("--seed", type=int, default=7, help="cohort seed (default 7)")
    parser.add_argument("--out", type=Path, default=Path("evaluation"), help="report directory")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument(
        "--cgm",
        type=Path,
        metavar="DIR",
        help="score the glucose alerts on real CGM traces (id,time,gl CSV files in DIR) instead of "
        "a simulated cohort; writes cgm.json, cgm.md and cgm.png",
    )
    parser.add_argument(
        "--simglucose",
        type=Path,
        metavar="DIR",
        help="score them on simglucose runs (one <patient>.csv each, as simglucose writes them): the "
        "detectors see the CGM, episodes come from the true blood glucose; writes simglucose.*",
    )


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = help_text()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "input", type=Path, help="CSV (timestamp,value or id,time,value) or wire-format JSONL (*.jsonl)"
    )
    parser.add_argument("--metric", help="metric of a CSV series, e.g. heart_rate, glucose_cgm, or 'other'")
    parser.add_argument("--unit", help="unit of the CSV values (UCUM), converted to the canonical unit")
    parser.add_argument("--out", type=Path, required=True, help="output CSV")
    parser.add_argument(
        "--conditions", default="", help="comma-separated conditions whose care-plan defaults apply"
    )
    parser.add_argument("--manifest", type=Path, help="cohort manifest mapping JSONL devices to patients")


def run_evaluate(args: argparse.Namespace) -> str:
    if args.cgm is not None:
        return run_cgm(args.cgm, args.out, plots=not args.no_plots)
    if args.simglucose is not None:
        return run_cgm(args.simglucose, args.out, plots=not args.no_plots, simglucose=True)
    if args.patients < 1 or args.days <= 0:
        raise ValueError("--patients and --days must be positive")
    report, run = evaluate(patients=args.patients, days=args.days, seed=args.seed, start=DEFAULT_START)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "evaluation.json")
    plots: list[str] = []
    if not args.no_plots:
        labels = [Label.of(row) for row in run.cohort.labels()]
        plots = plot_examples(run, labels, args.out)
    text = markdown(report, plots)
    (args.out / "evaluation.md").write_text(text)
    return text


def run_replay(args: argparse.Namespace) -> str:
    try:
        conditions = parse_conditions(args.conditions)
        stats = replay_file(
            args.input,
            args.out,
            metric=args.metric,
            unit=args.unit,
            conditions=conditions,
            manifest=args.manifest,
        )
    except (OSError, ValueError) as error:
        raise ReplayError(f"{args.input}: {error}") from None
    return (
        f"replayed {stats.rows - stats.skipped} readings into {args.out}: {stats.alerts} alerts raised, "
        f"{stats.skipped} rows refused or skipped (the reason is in the output's refused column for CSV)"
    )
