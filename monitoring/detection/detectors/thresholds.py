"""Care-plan threshold rule: persistence before alerting, hysteresis before clearing.

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import uuid4
>>> from monitoring.catalogue import Series
>>> from monitoring.detection.base import PatientContext
>>> from monitoring.detection.findings import Observation
>>> from monitoring.domain import Severity
>>> from monitoring.registry.careplans import Threshold
>>> patient, device = uuid4(), uuid4()
>>> rule = ThresholdDetector()
>>> ctx = PatientContext(patient, thresholds={
...     Series.HEART_RATE: Threshold(Series.HEART_RATE, 40, 120, Severity.HIGH, 3, hysteresis=5)})
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> kinds = []
>>> for i, hr in enumerate([80, 125, 130, 128, 126, 112, 110, 109]):
...     obs = Observation(patient, Series.HEART_RATE, t0 + timedelta(minutes=i), hr, device)
...     kinds += [f.kind.value for f in rule.observe(obs, ctx)]
>>> kinds
['open', 'update', 'clear']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from monitoring.catalogue import SERIES, Series
from monitoring.detection.base import PatientContext
from monitoring.detection.explain import Explanation, finding, fmt, points, when
from monitoring.detection.findings import Finding, FindingKind, Observation
from monitoring.detection.state import dump_points, load_points, need_time
from monitoring.registry.careplans import Threshold

Direction = Literal["high", "low"]
_EVIDENCE = 10  # readings kept as evidence in an explanation


class _Run:
    """A run of consecutive out-of-range readings, and once active, its episode."""

    __slots__ = ("active", "count", "recent", "recovered", "started_at", "worst")

    def __init__(self, started_at: datetime, first: float) -> None:
        self.started_at = started_at
        self.active = False
        self.count = 0
        self.recovered = 0
        self.worst = first
        self.recent: deque[tuple[datetime, float]] = deque(maxlen=_EVIDENCE)

    def dump(self) -> list[Any]:
        return [
            self.started_at.isoformat(),
            self.active,
            self.count,
            self.recovered,
            self.worst,
            dump_points(self.recent),
        ]

    @classmethod
    def load(cls, row: list[Any]) -> _Run:
        run = cls(need_time(row[0]), row[4])
        run.active, run.count, run.recovered = row[1], row[2], row[3]
        run.recent.extend(load_points(row[5]))
        return run


class ThresholdDetector:
    """Per-patient limits from the care plan, one alert type per series and direction."""

    name = "care_plan_threshold"

    def __init__(self) -> None:
        self._runs: dict[int, dict[tuple[Series, Direction], _Run]] = {}  # by the UUID's integer
        # Runs of late readings (observe_late), by patient, series and direction.
        self._late_runs: dict[tuple[int, Series, Direction], _Run] = {}

    def forget(self, patient_id: UUID) -> None:
        self._runs.pop(patient_id.int, None)
        for key in [key for key in self._late_runs if key[0] == patient_id.int]:
            del self._late_runs[key]

    def snapshot(self, patient_id: UUID) -> dict[str, Any] | None:
        runs = self._runs.get(patient_id.int)
        if not runs:
            return None
        return {f"{int(series)}/{direction}": run.dump() for (series, direction), run in runs.items()}

    def restore(self, patient_id: UUID, state: dict[str, Any]) -> None:
        runs: dict[tuple[Series, Direction], _Run] = {}
        for key, row in state.items():
            series, direction = key.split("/")
            runs[(Series(int(series)), "high" if direction == "high" else "low")] = _Run.load(row)
        self._runs[patient_id.int] = runs

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        series, value = observation.series, observation.value
        threshold = context.thresholds.get(series)
        if threshold is None:
            context.baseline(series).learn(value)
            return ()
        high, low = threshold.high, threshold.low
        in_range = (high is None or value <= high) and (low is None or value >= low)
        runs = self._runs.get(observation.patient_id.int)
        if in_range and (not runs or ((series, "high") not in runs and (series, "low") not in runs)):
            context.baseline(series).learn(value)  # the common case: in range, nothing pending
            return ()
        findings: list[Finding] = []
        directions: tuple[tuple[Literal["high", "low"], float | None], ...] = (
            ("high", threshold.high),
            ("low", threshold.low),
        )
        for direction, limit in directions:
            if limit is not None:
                finding = self._step(direction, limit, threshold, observation, context)
                if finding is not None:
                    findings.append(finding)
        if in_range:  # never learn "usual" from the values being flagged
            context.baseline(observation.series).learn(value)
        return findings

    def observe_late(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        """A reading older than the newest one evaluated: a run of late readings is its own episode.

        The live persistence windows have moved on, so a late reading changes
        none of their state. Late readings arrive in bursts, in their own order
        (a device's backlog; a broker node that failed over and took a device's
        earlier messages after a later one); out-of-range ones in a row form a
        late run, which alerts, marked late, once it persists as the care plan
        asks (at once where one reading is enough, as for a spot-check meter).
        An in-range late reading ends the run. Late runs are not checkpointed.
        """
        threshold = context.thresholds.get(observation.series)
        if threshold is None:
            return ()
        value = observation.value
        directions: tuple[tuple[Direction, float | None], ...] = (
            ("high", threshold.high),
            ("low", threshold.low),
        )
        for side, limit in directions:
            if limit is None:
                continue
            key = (observation.patient_id.int, observation.series, side)
            if not ((value > limit) if side == "high" else (value < limit)):
                self._late_runs.pop(key, None)
                continue
            run = self._late_runs.get(key)
            if run is None or observation.at <= run.recent[-1][0]:  # a new burst starts a new run
                run = self._late_runs[key] = _Run(observation.at, value)
            run.count += 1
            run.recent.append((observation.at, value))
            run.worst = max(run.worst, value) if side == "high" else min(run.worst, value)
            readings, seconds = threshold.persistence(side == "high")
            persisted = run.count >= readings or (
                seconds is not None and (observation.at - run.started_at).total_seconds() >= seconds
            )
            if run.active or not persisted:
                continue
            run.active = True
            clear_at = limit - threshold.hysteresis if side == "high" else limit + threshold.hysteresis
            return (
                self._finding(FindingKind.OPEN, side, limit, clear_at, threshold, observation, run, context),
            )
        return ()

    def _step(
        self,
        direction: Direction,
        limit: float,
        threshold: Threshold,
        obs: Observation,
        context: PatientContext,
    ) -> Finding | None:
        high = direction == "high"
        clear_at = limit - threshold.hysteresis if high else limit + threshold.hysteresis
        out = obs.value > limit if high else obs.value < limit
        recovered = obs.value <= clear_at if high else obs.value >= clear_at
        runs = self._runs.setdefault(obs.patient_id.int, {})
        key = (obs.series, direction)
        run = runs.get(key)
        if out:
            if run is None:
                run = runs[key] = _Run(obs.at, obs.value)
            run.count += 1
            run.recovered = 0
            run.recent.append((obs.at, obs.value))
            run.worst = max(run.worst, obs.value) if high else min(run.worst, obs.value)
            if run.active:
                return self._finding(
                    FindingKind.UPDATE, direction, limit, clear_at, threshold, obs, run, context
                )
            readings, seconds = threshold.persistence(high)
            persisted = run.count >= readings or (
                seconds is not None and (obs.at - run.started_at).total_seconds() >= seconds
            )
            if not persisted:
                return None
            run.active = True
            return self._finding(FindingKind.OPEN, direction, limit, clear_at, threshold, obs, run, context)
        if run is None:
            return None
        if not run.active:  # the consecutive run is broken before it persisted
            del runs[key]
            return None
        run.recovered = run.recovered + 1 if recovered else 0
        if run.recovered < threshold.persist_readings:
            return None
        del runs[key]
        return self._finding(FindingKind.CLEAR, direction, limit, clear_at, threshold, obs, run, context)

    def _finding(
        self,
        kind: FindingKind,
        direction: Direction,
        limit: float,
        clear_at: float,
        threshold: Threshold,
        obs: Observation,
        run: _Run,
        context: PatientContext,
    ) -> Finding:
        info = SERIES[obs.series]
        unit = info.unit
        baseline = context.baseline(obs.series).describe()
        summary = _summary(kind, direction, limit, clear_at, obs, run, baseline)
        persistence = threshold.persistence(direction == "high")
        return finding(
            detector=self.name,
            patient_id=obs.patient_id,
            alert_type=f"threshold.{obs.series.key}.{direction}",
            step=kind.value,
            started=run.started_at,
            at=obs.at,
            severity=threshold.severity,
            summary=summary,
            explanation=Explanation(
                rule=f"{obs.series.key} {'>' if direction == 'high' else '<'} {fmt(limit)} {unit}",
                series=obs.series.key,
                observed=points(run.recent),
                threshold={
                    "direction": direction,
                    "limit": limit,
                    "clear_at": clear_at,
                    "source": "care_plan",
                },
                baseline=baseline,
                details={
                    "loinc": info.loinc,
                    "unit": unit,
                    "persistence": dict(zip(("readings", "seconds"), persistence, strict=True)),
                    "observed_count": run.count,
                    "worst": run.worst,
                },
            ),
            series=obs.series,
        )


def _summary(
    kind: FindingKind,
    direction: Direction,
    limit: float,
    clear_at: float,
    obs: Observation,
    run: _Run,
    baseline: dict[str, float | int] | None,
) -> str:
    info = SERIES[obs.series]
    unit = info.unit
    word = "above" if direction == "high" else "below"
    values = ", ".join(fmt(v) for _, v in run.recent)
    if kind is FindingKind.CLEAR:
        back = "at or below" if direction == "high" else "at or above"
        summary = (
            f"{info.label} back {back} {fmt(clear_at)} {unit} for {run.recovered} readings "
            f"as of {when(obs.at)}; the episode began {when(run.started_at)} "
            f"({'highest' if direction == 'high' else 'lowest'} {fmt(run.worst)} {unit})."
        )
    else:
        usual = f"; usual {fmt(baseline['mean'])} {unit}" if baseline else ""
        summary = (
            f"{info.label} {word} the care-plan limit of {fmt(limit)} {unit} for "
            f"{run.count} consecutive readings ({values} {unit}) from {when(run.started_at)} "
            f"to {when(obs.at)}{usual}. Clears at {fmt(clear_at)} {unit}."
        )
    return summary
