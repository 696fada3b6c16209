"""How alerts on real CGM traces are counted against the episodes derived from the data.

Counting rules (the same for every system and threshold):

- A **predictive alert** is the opening of an alert that forecasts a low. It is
  *true* when an episode begins 0-60 minutes after it (lead = onset - alert),
  *false* when none does, and not counted either way when it opens during an
  episode (between onset and end: that low is already under way).
- An episode is **warned >= N minutes** ahead when a true predictive alert has
  a lead of at least N minutes. Predictive figures count only *predictable*
  episodes (at least 30 minutes of unbroken data before onset).
- **False alerts per patient-week**: false predictive alerts over the time the
  sensors were recording (gaps over 15 minutes left out).
- **Precision**: true / (true + false). **Median lead**: over warned episodes,
  the earliest true alert's lead.
- **Reactive**: an episode is *alerted* by a time when any glucose alert
  (predictive or not) was open at some moment between an hour before onset and
  that time. Counted over all episodes, by episode end and by 15 minutes after
  onset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from evaluation.cgm_data import Episode

WINDOW = timedelta(minutes=60)
REACTIVE_BY = timedelta(minutes=15)
WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Interval:
    """One alert: when it opened and when it cleared (None while still open at the end)."""

    opened: datetime
    cleared: datetime | None = None

    def open_during(self, start: datetime, end: datetime) -> bool:
        return self.opened <= end and (self.cleared is None or self.cleared >= start)


@dataclass(slots=True)
class Tally:
    """Counts for one system at one setting, summed over people."""

    episodes: int = 0
    warned_15: int = 0
    warned_0: int = 0
    true_alerts: int = 0
    false_alerts: int = 0
    during: int = 0
    weeks: float = 0.0
    leads: list[float] | None = None

    def add(self, other: Tally) -> None:
        self.episodes += other.episodes
        self.warned_15 += other.warned_15
        self.warned_0 += other.warned_0
        self.true_alerts += other.true_alerts
        self.false_alerts += other.false_alerts
        self.during += other.during
        self.weeks += other.weeks
        self.leads = (self.leads or []) + (other.leads or [])

    def summary(self) -> dict[str, Any]:
        alerts = self.true_alerts + self.false_alerts
        return {
            "episodes": self.episodes,
            "warned_15_min": _share(self.warned_15, self.episodes),
            "warned_0_min": _share(self.warned_0, self.episodes),
            "false_alerts_per_patient_week": round(self.false_alerts / self.weeks, 2) if self.weeks else None,
            "precision": _share(self.true_alerts, alerts),
            "median_lead_min": round(median(self.leads), 1) if self.leads else None,
            "alerts": alerts,
            "alerts_during_episodes": self.during,
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def predictive(episodes: Sequence[Episode], alerts: Iterable[datetime], covered: timedelta) -> Tally:
    """One person's predictive alerts against their episodes."""
    onsets = sorted(episodes, key=lambda e: e.onset)
    best: dict[datetime, float] = {}
    tally = Tally(episodes=sum(e.predictable for e in onsets), weeks=covered / WEEK, leads=[])
    for at in alerts:
        if any(e.onset <= at <= e.end for e in onsets):
            tally.during += 1
            continue
        ahead = [e for e in onsets if timedelta() < e.onset - at <= WINDOW]
        if not ahead:
            tally.false_alerts += 1
            continue
        tally.true_alerts += 1
        for e in ahead:
            lead = (e.onset - at).total_seconds() / 60
            best[e.onset] = max(best.get(e.onset, 0.0), lead)
    for e in onsets:
        if not e.predictable or e.onset not in best:
            continue
        lead = best[e.onset]
        tally.warned_0 += 1
        tally.warned_15 += lead >= 15
        assert tally.leads is not None
        tally.leads.append(lead)
    return tally


@dataclass(frozen=True, slots=True)
class Reaction:
    episode: Episode
    by_end: bool
    by_15: bool
    delay_min: float | None  # from onset to the first alert open at or after it (0 if one already was)


def reactive(episodes: Sequence[Episode], alerts: Sequence[Interval]) -> list[Reaction]:
    out = []
    for e in episodes:
        start = e.onset - WINDOW
        by_end = any(a.open_during(start, e.end) for a in alerts)
        by_15 = any(a.open_during(start, e.onset + REACTIVE_BY) for a in alerts)
        delays = [
            max(0.0, (a.opened - e.onset).total_seconds() / 60) for a in alerts if a.open_during(start, e.end)
        ]
        out.append(Reaction(e, by_end, by_15, min(delays) if delays else None))
    return out


def reactive_summary(reactions: Sequence[Reaction]) -> dict[str, Any]:
    delays = [r.delay_min for r in reactions if r.delay_min is not None]
    return {
        "episodes": len(reactions),
        "alerted_by_end": _share(sum(r.by_end for r in reactions), len(reactions)),
        "alerted_by_15_min": _share(sum(r.by_15 for r in reactions), len(reactions)),
        "median_delay_min": round(median(delays), 1) if delays else None,
    }
