"""Fit the hypoglycaemia-risk model on the tuning people of real CGM traces.

    python -m evaluation.hypo_training --data DIR [--out PATH]

Only people whose stable hash puts them in the tuning set are used (see
``evaluation.cgm_data.held_out``); the held-out people are never seen here.
Every reading at or above 70 mg/dL that is not inside an episode and has 30
minutes of data behind it is one example; it is positive when a consensus
episode begins within the next 60 minutes. Features come from the detector's
own ``Trajectory``, so training and service see the same inputs. The fit is an
L2-penalised logistic regression (Newton's method on standardised features).
"""

from __future__ import annotations

import argparse
import json
from bisect import bisect_right
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.cgm_data import Trace, dataset_files, episodes, held_out, read_traces
from monitoring.detection.detectors.hypo_features import LOW, NAMES, Trajectory
from monitoring.detection.detectors.hypo_risk import WEIGHTS, RiskModel

HORIZON = timedelta(minutes=60)
PENALTY = 1.0


def examples(traces: list[Trace]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rows: list[tuple[float, ...]] = []
    labels: list[int] = []
    for trace in traces:
        found = episodes(trace)
        onsets = [e.onset for e in found]
        track = Trajectory()
        for at, value in zip(trace.times, trace.values, strict=True):
            features = track.add(at, value)
            if features is None or value < LOW or any(e.onset <= at <= e.end for e in found):
                continue
            nxt = bisect_right(onsets, at)
            labels.append(int(nxt < len(onsets) and onsets[nxt] - at <= HORIZON))
            rows.append(features.vector)
    return np.array(rows), np.array(labels, dtype=float)


def fit(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], penalty: float = PENALTY) -> RiskModel:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    w[0] = np.log(max(y.mean(), 1e-6) / max(1 - y.mean(), 1e-6))
    ridge = penalty * np.eye(len(w))
    ridge[0, 0] = 0.0
    loss = _loss(z, y, w, ridge)
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        gradient = z.T @ (p - y) + ridge @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + ridge
        step = np.linalg.solve(hessian, gradient)
        size = 1.0  # halve the Newton step until the penalised loss falls
        while size > 1e-4 and _loss(z, y, w - size * step, ridge) > loss:
            size /= 2
        w -= size * step
        new_loss = _loss(z, y, w, ridge)
        if loss - new_loss < 1e-7 * loss:
            break
        loss = new_loss
    return RiskModel(float(w[0]), tuple(map(float, w[1:])), tuple(map(float, mean)), tuple(map(float, scale)))


def _loss(z: np.ndarray[Any, Any], y: np.ndarray[Any, Any], w: np.ndarray[Any, Any], ridge: Any) -> float:
    margin = np.clip(z @ w, -30, 30)
    return float(np.sum(np.logaddexp(0, margin) - y * margin) + 0.5 * w @ ridge @ w)


def train(directory: Path) -> dict[str, Any]:
    traces = [t for t in read_traces(dataset_files(directory)) if not held_out(t.person)]
    x, y = examples(traces)
    model = fit(x, y)
    return {
        "about": (
            "Hypoglycaemia-risk model: written by `python -m evaluation.hypo_training`; "
            "fitted on the tuning people only"
        ),
        "trained_on": {
            "files": [p.name for p in dataset_files(directory)],
            "people": len(traces),
            "examples": int(len(y)),
            "positives": int(y.sum()),
            "horizon_min": int(HORIZON.total_seconds() // 60),
            "penalty": PENALTY,
        },
        "model": model.to_json(),
        "weights_by_feature": {name: round(w, 4) for name, w in zip(NAMES, model.weights, strict=True)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="directory of id,time,gl CSV files")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="where the model is written")
    args = parser.parse_args()
    trained = train(args.data)
    args.out.write_text(json.dumps(trained, indent=2) + "\n")
    t = trained["trained_on"]
    print(  # noqa: T201 - the command's one line of output
        f"fitted on {t['people']} people, {t['examples']} examples, {t['positives']} positive -> {args.out}"
    )


if __name__ == "__main__":
    main()
