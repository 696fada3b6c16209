"""The simulator's CGM against the real traces: the statistics the realism table reports."""

from __future__ import annotations

from evaluation.cgm_data import dataset_files, read_traces
from evaluation.cgm_realism import simulated_traces, statistics
from tests.services import shared_datasets


def test_the_simulated_cgm_looks_like_the_real_ones() -> None:
    real = [
        statistics([t for t in read_traces(dataset_files(shared_datasets() / "cgm")) if t.study == s])
        for s in ("Colas2019", "Dubosson2018", "Hall2018")
    ]
    sim = statistics(simulated_traces("type1_diabetes", patients=6, days=7, seed=3))
    noise = [r["noise_mg_dl"] for r in real]
    # Reading-to-reading noise: white noise at a 9 % MARD gave 14 mg/dL against the real 1.0-1.8.
    assert sim["noise_mg_dl"] <= 1.5 * max(noise)
    # Real traces have gaps; the simulator had none.
    assert (
        min(r["gaps_per_day"] for r in real) / 2
        <= sim["gaps_per_day"]
        <= max(r["gaps_per_day"] for r in real)
    )
    # Fast changes: white noise and the abrupt end of a meal's bump made 23 % of steps exceed 3 mg/dL/min.
    assert sim["rate_over_3_percent"] <= 2.5 * real[1]["rate_over_3_percent"]
    # How often people with type 1 diabetes are low: within the real studies' range.
    assert (
        min(r["hypos_per_week"] for r in real)
        <= sim["hypos_per_week"]
        <= max(r["hypos_per_week"] for r in real)
    )
