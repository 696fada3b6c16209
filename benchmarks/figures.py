"""What one benchmark run reports, and the arithmetic that turns its samples and counts into figures."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from benchmarks.publisher import Tally
from benchmarks.workers import BenchWorker


@dataclass
class Figures:
    options: dict[str, object]
    offered_msgs_per_s: float = 0.0
    published_msgs: int = 0
    published_readings: int = 0
    stored_readings: int = 0
    refused_readings: int = 0  # into dead letters (the realistic cohort's artefacts): not lost
    lost: int = 0
    duplicates_stored: int = 0
    redeliveries_absorbed: int = 0
    warm_redeliveries_absorbed: int = 0  # by the workers of the warm-up phase (realistic cohort)
    steady_readings_per_s: float = 0.0
    steady_msgs_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    latency_samples: int = 0
    cpu_s_per_1k_readings: dict[str, float] = field(default_factory=dict)
    cpu_share: dict[str, float] = field(default_factory=dict)
    # Of each component's CPU in the load, the part the kernel spent for it (system time).
    system_share: dict[str, float] = field(default_factory=dict)
    idle_cores: dict[str, float] = field(default_factory=dict)  # cores used with no load, just before it
    # Batches the workers stored during the load, all workers together, and the messages in each on
    # average: every batch pays the same round trips, so smaller batches cost more per reading.
    batches_per_s: float = 0.0
    messages_per_batch: float = 0.0
    worker_rss_mib: list[float] = field(default_factory=list)
    worker_rss_growth_kib_per_patient: float = 0.0  # ready -> end of load: mostly detector state
    worker_rss_kib_per_patient: float = 0.0  # end of load against the same workers started empty
    readings_per_message: float = 0.0
    warm_readings: int = 0  # sent, stored and evaluated before the measured part (realistic cohort)
    detector_state_bytes_per_patient: float = 0.0
    detector_state_total_mib: float = 0.0
    trend_query_ms: dict[str, float] = field(default_factory=dict)


BATCHES = "rpm_batch_store_seconds_count"
MESSAGES = "rpm_ingest_messages_total"


def batch_counts(workers: list[BenchWorker]) -> tuple[float, float]:
    """Batches stored and messages taken so far, all workers together."""
    read = [w.metrics(BATCHES, MESSAGES) for w in workers]
    return sum(batches for batches, _ in read), sum(messages for _, messages in read)


def batching(
    figures: Figures, before: tuple[float, float], after: tuple[float, float], elapsed_s: float
) -> None:
    batches, messages = after[0] - before[0], after[1] - before[1]
    figures.batches_per_s = round(batches / max(elapsed_s, 1e-9), 1)
    figures.messages_per_batch = round(messages / max(batches, 1), 2)


def throughput(
    figures: Figures, warmup_s: float, series: list[tuple[float, int]], tallies: list[Tally]
) -> None:
    # A worker whose metrics read failed under load counts 0: the stored count only ever grows.
    grown = [(t, max(m for _, m in series[: i + 1])) for i, (t, _) in enumerate(series)]
    steady = [(t, n) for t, n in grown if t >= warmup_s]
    figures.readings_per_message = round(
        sum(t.readings for t in tallies) / max(1, sum(t.acknowledged for t in tallies)), 2
    )
    if len(steady) >= 2:
        (t0, n0), (t1, n1) = steady[0], steady[-1]
        figures.steady_readings_per_s = round((n1 - n0) / (t1 - t0), 1)
        figures.steady_msgs_per_s = round(
            figures.steady_readings_per_s / max(1, figures.readings_per_message), 1
        )


def counts(
    figures: Figures,
    tallies: list[Tally],
    evaluated: int,
    stored: tuple[int, int],
    workers: list[BenchWorker],
    offered: float,
    probes: int,
) -> None:
    """Published (acknowledged by the broker) against rows in the database and readings evaluated.

    ``stored`` is (rows, readings refused into dead letters): a simulated artefact (a heart rate of 17)
    is refused as implausible, which is not a loss."""
    rows, refused = stored
    figures.offered_msgs_per_s = offered
    figures.published_msgs = sum(t.acknowledged for t in tallies)
    figures.published_readings = sum(t.readings for t in tallies) + probes
    figures.stored_readings = rows
    figures.refused_readings = refused
    figures.lost = max(0, figures.published_readings - rows - refused)
    # More rows than published, or a reading counted as new (and evaluated) twice.
    figures.duplicates_stored = max(0, rows + refused - figures.published_readings) + max(0, evaluated - rows)
    figures.redeliveries_absorbed = int(sum(w.metric("rpm_readings_duplicate_total") for w in workers))


def pct(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
