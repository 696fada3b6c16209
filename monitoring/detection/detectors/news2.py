"""NEWS2 (Royal College of Physicians, 2017) from home readings, with a freshness rule per input.

At home the inputs come from different devices at different times, so the
score uses, for each input, the median of its readings within a freshness
limit (minute-level signals: the last 15 minutes; spot checks: hours), and is
only computed when enough inputs are fresh. Consciousness cannot be measured
at home and is taken as alert; the patient is taken to be on air. Patients
with COPD and a prescribed SpO2 target of 88-92 % are scored on scale 2.

>>> respiration_points(8), respiration_points(9), respiration_points(20), respiration_points(25)
(3, 1, 0, 3)
>>> spo2_points(96, scale=1), spo2_points(91, scale=1), spo2_points(88, scale=2), spo2_points(83, scale=2)
(0, 3, 0, 3)
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from operator import itemgetter
from typing import Any

from monitoring.catalogue import Series
from monitoring.detection.base import PatientContext
from monitoring.detection.explain import Explanation, finding, fmt, when
from monitoring.detection.findings import Finding, Observation
from monitoring.detection.perpatient import PatientStates, Stateful
from monitoring.detection.state import dump_points, load_points
from monitoring.detection.tracker import EpisodeState, Persistence
from monitoring.domain import Condition, Severity


def respiration_points(rate: float) -> int:
    if rate <= 8:
        return 3
    if rate <= 11:
        return 1
    if rate <= 20:
        return 0
    return 2 if rate <= 24 else 3


def spo2_points(spo2: float, *, scale: int = 1) -> int:
    if scale == 2:  # on air: 88-92 and >= 93 both score 0
        if spo2 <= 83:
            return 3
        if spo2 <= 85:
            return 2
        return 1 if spo2 <= 87 else 0
    if spo2 <= 91:
        return 3
    if spo2 <= 93:
        return 2
    return 1 if spo2 <= 95 else 0


def systolic_points(systolic: float) -> int:
    if systolic <= 90:
        return 3
    if systolic <= 100:
        return 2
    if systolic <= 110:
        return 1
    return 0 if systolic <= 219 else 3


def pulse_points(pulse: float) -> int:
    if pulse <= 40:
        return 3
    if pulse <= 50:
        return 1
    if pulse <= 90:
        return 0
    if pulse <= 110:
        return 1
    return 2 if pulse <= 130 else 3


def temperature_points(celsius: float) -> int:
    if celsius <= 35.0:
        return 3
    if celsius <= 36.0:
        return 1
    if celsius <= 38.0:
        return 0
    return 1 if celsius <= 39.0 else 2


# NEWS2 rounds vital signs to whole numbers (temperature to one decimal) before scoring.
POINTS: dict[Series, Callable[[float, int], int]] = {
    Series.RESPIRATORY_RATE: lambda v, scale: respiration_points(round(v)),
    Series.SPO2: lambda v, scale: spo2_points(round(v), scale=scale),
    Series.BP_SYSTOLIC: lambda v, scale: systolic_points(round(v)),
    Series.HEART_RATE: lambda v, scale: pulse_points(round(v)),
    Series.BODY_TEMPERATURE: lambda v, scale: temperature_points(round(v, 1)),
}


@dataclass(frozen=True, slots=True)
class News2Rules:
    fresh: dict[Series, timedelta] = field(
        default_factory=lambda: {
            Series.RESPIRATORY_RATE: timedelta(minutes=15),
            Series.SPO2: timedelta(minutes=15),
            Series.HEART_RATE: timedelta(minutes=15),
            Series.BP_SYSTOLIC: timedelta(hours=6),
            Series.BODY_TEMPERATURE: timedelta(hours=12),
        }
    )
    min_inputs: int = 3
    medium: int = 5  # the key threshold for an urgent response
    high: int = 7  # emergency response
    persist: timedelta = timedelta(minutes=30)
    end_after: timedelta = timedelta(minutes=30)


@dataclass(slots=True)
class _News2:
    inputs: dict[Series, deque[tuple[datetime, float]]] = field(default_factory=dict)
    episode: EpisodeState = field(default_factory=EpisodeState)
    worst: int = 0
    reported: int = 0  # the score last reported; an open alert is refreshed only when it changes
    # Not saved: per input, its fresh window as last worked out (``Window``), and its readings'
    # values alone, beside ``inputs`` (a median sorts them without unpacking a tuple each).
    medians: dict[Series, Window] = field(default_factory=dict)
    values: dict[Series, deque[float]] = field(default_factory=dict)

    def add(self, series: Series, at: datetime, value: float) -> None:
        queue = self.inputs.get(series)
        if queue is None:
            queue = self.inputs[series] = deque(maxlen=_KEPT)
            self.values[series] = deque(maxlen=_KEPT)
        queue.append((at, value))
        self.values[series].append(value)

    def dump(self) -> dict[str, Any]:
        return {
            "inputs": {str(int(s)): dump_points(q) for s, q in self.inputs.items()},
            "episode": self.episode.dump(),
            "worst": self.worst,
            "reported": self.reported,
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> _News2:
        state = cls(
            episode=EpisodeState.load(data["episode"]), worst=data["worst"], reported=data["reported"]
        )
        for key, rows in data["inputs"].items():
            for at, value in load_points(rows):
                state.add(Series(int(key)), at, value)
        return state


_KEPT = 15  # readings kept per input: more than any input's freshness limit holds


# An input's fresh window as last worked out: the newest reading it saw, the span of "now" over
# which the same readings are the fresh ones (after, until], their median and its points on
# scales 1 and 2 (None: no fresh reading).
Window = tuple[tuple[datetime, float], datetime, datetime, float | None, tuple[int, int]]
_EVER = datetime.min.replace(tzinfo=UTC)
_NEVER = datetime.max.replace(tzinfo=UTC)
_NO_POINTS = (0, 0)
_AT = itemgetter(0)


def fresh_window(state: _News2, series: Series, now: datetime, limit: timedelta) -> Window | None:
    """The readings of an input taken within ``limit`` before ``now``, as a ``Window`` (None: never read).

    An input's queue is in time order, so its fresh readings are its newest
    ones. The last window is reused while the queue has had nothing added and
    ``now`` is still in its span: most readings change one input of a score, and
    none of the others, and the span needs no arithmetic to check.
    """
    queue = state.inputs.get(series)
    if not queue:
        return None
    newest = queue[-1]
    cached = state.medians.get(series)
    if cached is not None and cached[0] is newest and cached[1] < now <= cached[2]:
        return cached
    since = now - limit
    window: Window
    if newest[0] < since:  # stale until a reading is added
        window = (newest, newest[0] + limit, _NEVER, None, _NO_POINTS)
    else:
        first = bisect_left(queue, since, key=_AT)  # readings come in time order
        fresh = sorted(islice(state.values[series], first, None))
        middle = len(fresh) // 2  # the median (statistics.median sorts the same way, more slowly)
        value = fresh[middle] if len(fresh) % 2 else (fresh[middle - 1] + fresh[middle]) / 2
        points = POINTS[series]
        window = (
            newest,
            queue[first - 1][0] + limit if first else _EVER,  # the one before goes stale after this
            queue[first][0] + limit,  # the oldest fresh one stays fresh until this
            value,
            (points(value, 1), points(value, 2)),
        )
    state.medians[series] = window
    return window


def fresh_median(state: _News2, series: Series, now: datetime, limit: timedelta) -> float | None:
    """The median of an input's readings taken at or after ``now - limit`` (None: it has none)."""
    window = fresh_window(state, series, now, limit)
    return None if window is None else window[3]


@dataclass(frozen=True, slots=True)
class Score:
    total: int
    parts: dict[str, dict[str, float | int]]
    scale: int
    missing: tuple[str, ...]


class News2(Stateful[_News2]):
    name = "news2"

    def __init__(self, rules: News2Rules | None = None) -> None:
        self.rules = rules or News2Rules()
        self._episodes = Persistence(start_after=self.rules.persist, end_after=self.rules.end_after)
        self._states = PatientStates(_News2, _News2.load)
        self.series = frozenset(self.rules.fresh)
        self._limits = tuple(self.rules.fresh.items())

    def total(self, state: _News2, now: datetime, scale: int) -> int | None:
        """The score alone (None: too few inputs fresh), as ``score`` adds it up; on every reading."""
        points = counted = 0
        inputs, medians, index = state.inputs, state.medians, scale - 1
        for series, limit in self._limits:
            queue = inputs.get(series)
            if not queue:
                continue
            # ``fresh_window``'s reuse test, inline: most inputs of most readings pass it.
            window = medians.get(series)
            if window is None or window[0] is not queue[-1] or not window[1] < now <= window[2]:
                window = fresh_window(state, series, now, limit)
                assert window is not None  # the input has readings
            if window[3] is not None:
                counted += 1
                points += window[4][index]
        return points if counted >= self.rules.min_inputs else None

    def score(self, state: _News2, now: datetime, scale: int) -> Score | None:
        """The score with its parts, for an explanation."""
        parts: dict[str, dict[str, float | int]] = {}
        missing: list[str] = []
        for series, limit in self._limits:
            window = fresh_window(state, series, now, limit)
            if window is None or window[3] is None:
                missing.append(series.key)
                continue
            parts[series.key] = {"value": round(window[3], 1), "points": window[4][scale - 1]}
        if len(parts) < self.rules.min_inputs:
            return None
        return Score(sum(int(p["points"]) for p in parts.values()), parts, scale, tuple(missing))

    def observe(self, observation: Observation, context: PatientContext) -> Sequence[Finding]:
        obs = observation
        if obs.series not in self.rules.fresh:
            return ()
        state = self._states(obs.patient_id)
        state.add(obs.series, obs.at, obs.value)
        if len(state.inputs) < self.rules.min_inputs:
            return ()  # a patient with one wearable: too few inputs ever to add up a score
        scale = 2 if context.has(Condition.COPD) else 1
        total = self.total(state, obs.at, scale)
        if total is None:
            return ()
        step = self._episodes.step(state.episode, obs.at, total >= self.rules.medium)
        if step is None:
            return ()
        kind, started = step
        if kind == "update" and total == state.reported:
            return ()
        score = self.score(state, obs.at, scale)  # the same total, with the parts that explain it
        if score is None:
            return ()
        state.reported = score.total
        state.worst = score.total if kind == "open" else max(state.worst, score.total)
        return [self._finding(kind, started, obs, score, scale, state)]

    def _finding(
        self, kind: str, started: datetime, obs: Observation, score: Score, scale: int, state: _News2
    ) -> Finding:
        band = "high" if score.total >= self.rules.high else "medium"
        drivers = ", ".join(
            f"{name.replace('_', ' ')} {fmt(float(p['value']))} ({p['points']})"
            for name, p in sorted(score.parts.items(), key=lambda kv: -int(kv[1]["points"]))
            if p["points"]
        )
        summary = (
            f"NEWS2 {score.total} ({band} risk, scale {scale}) for "
            f"{int(self.rules.persist.total_seconds() // 60)}+ minutes since {when(started)}: {drivers}."
            if kind != "clear"
            else f"NEWS2 below {self.rules.medium} again as of {when(obs.at)} (now {score.total}; "
            f"peak {state.worst} since {when(started)})."
        )
        if kind == "clear":
            state.worst = 0
        return finding(
            detector=self.name,
            patient_id=obs.patient_id,
            alert_type="news2",
            step=kind,
            started=started,
            at=obs.at,
            severity=Severity.CRITICAL if score.total >= self.rules.high else Severity.HIGH,
            summary=summary,
            explanation=Explanation(
                rule=f"NEWS2 >= {self.rules.medium} for {self.rules.persist}",
                observed=[{"at": obs.at.isoformat(), "value": score.total}],
                threshold={"medium": self.rules.medium, "high": self.rules.high},
                baseline=None,
                score=score.total,
                inputs=score.parts,
                details={
                    "scale": scale,
                    "missing_inputs": list(score.missing),
                    "assumed": {"consciousness": "alert", "oxygen": "air"},
                    "freshness_min": {
                        s.key: int(t.total_seconds() // 60) for s, t in self.rules.fresh.items()
                    },
                },
            ),
        )
