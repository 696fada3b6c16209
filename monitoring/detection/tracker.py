"""When a condition becomes an episode and when the episode ends: persistence and recovery.

Every detector that turns a per-reading condition into alerts uses this one
state machine, so "how long before we alert" and "how long before we call it
over" mean the same everywhere.

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> rule = Persistence(start_after=timedelta(minutes=15), end_after=timedelta(minutes=15))
>>> state = EpisodeState()
>>> steps = [rule.step(state, t0 + timedelta(minutes=m), m < 30) for m in range(0, 60, 5)]
>>> [s[0] if s else None for s in steps]
[None, None, None, 'open', 'update', 'update', None, None, None, 'clear', None, None]
>>> steps[9][1] == t0  # every step names the episode by its start
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from monitoring.detection.state import dump_time, load_time

Step = Literal["open", "update", "clear"]


@dataclass(slots=True)
class EpisodeState:
    """Where one (patient, condition) stands: quiet, pending, in an episode, or recovering."""

    pending_since: datetime | None = None
    pending_count: int = 0
    active_since: datetime | None = None
    recovering_since: datetime | None = None
    recovering_count: int = 0
    last_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.active_since is not None

    def dump(self) -> dict[str, Any]:
        return {
            "pending_since": dump_time(self.pending_since),
            "pending_count": self.pending_count,
            "active_since": dump_time(self.active_since),
            "recovering_since": dump_time(self.recovering_since),
            "recovering_count": self.recovering_count,
            "last_at": dump_time(self.last_at),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> EpisodeState:
        return cls(
            pending_since=load_time(data["pending_since"]),
            pending_count=int(data["pending_count"]),
            active_since=load_time(data["active_since"]),
            recovering_since=load_time(data["recovering_since"]),
            recovering_count=int(data["recovering_count"]),
            last_at=load_time(data["last_at"]),
        )


@dataclass(frozen=True, slots=True)
class Persistence:
    """How long (and over how many readings) a condition must hold to start and to end an episode.

    A gap longer than ``max_gap`` between readings restarts a pending run: a
    condition seen twice a day apart has not "persisted" for a day.
    """

    start_after: timedelta = timedelta(0)
    start_count: int = 1
    end_after: timedelta = timedelta(0)
    end_count: int = 1
    max_gap: timedelta | None = None

    def step(
        self, state: EpisodeState, at: datetime, abnormal: bool, *, urgent: bool = False
    ) -> tuple[Step, datetime] | None:
        """Advance by one reading; return what happened to the episode and when it began.

        ``urgent`` opens a pending episode at once (a confirmed dangerous value
        need not wait out the persistence window).
        """
        gap = state.last_at is not None and self.max_gap is not None and at - state.last_at > self.max_gap
        state.last_at = at
        if abnormal:
            state.recovering_since, state.recovering_count = None, 0
            if state.active_since is not None:
                return "update", state.active_since
            if state.pending_since is None or gap:
                state.pending_since, state.pending_count = at, 0
            state.pending_count += 1
            persisted = (
                state.pending_count >= self.start_count and at - state.pending_since >= self.start_after
            )
            if persisted or urgent:
                state.active_since = state.pending_since
                return "open", state.pending_since
            return None
        started = state.active_since
        if started is None:
            state.pending_since, state.pending_count = None, 0
            return None
        if state.recovering_since is None or gap:
            state.recovering_since, state.recovering_count = at, 0
        state.recovering_count += 1
        if state.recovering_count >= self.end_count and at - state.recovering_since >= self.end_after:
            state.active_since = state.pending_since = state.recovering_since = None
            state.pending_count = state.recovering_count = 0
            return "clear", started
        return None
