"""A care team's triage list: every patient with the flags that need attention, riskiest first.

Flags (ADA / international consensus targets, RPM program rules):
- open alerts, by severity;
- time below 70 mg/dL over 4 %, time below 54 over 1 % (last 14 days of CGM);
- time in range down more than 15 points from the 14 days before;
- fewer than 16 days with readings in 30, pro-rated over the days since enrolment
  (a patient enrolled 10 days ago needs 6; nobody is flagged on their first day);
- a device that has been quiet longer than its kind's expected interval, counted
  from its last reading or, for one not yet heard from, from its registration
  (a cuff that reports morning and evening is not offline an hour after it is set up).

Risk orders the list: each open alert counts by severity (critical 100, high 30,
medium 10, low 3), each other flag 20.

>>> row = TriageRow(patient_id=None, display_name="x", open_alerts={"critical": 1, "medium": 2},
...                 time_below_70=5.0, time_below_54=0.5, time_in_range=60.0, previous_time_in_range=80.0,
...                 adherence_days=5, monitored_days=10, dates_monitored=11, devices_offline=[])
>>> row.risk, row.flags[-1]
(180, 'readings on 5 of 11 days (6 needed: 16 in 30)')
>>> row.monitored_days = 30; row.adherence_days = 16; row.flags[-1]
'time in range down > 15 points'
>>> TriageRow(patient_id=None, display_name="new", monitored_days=0).flags
[]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

ALERT_WEIGHT = {"critical": 100, "high": 30, "medium": 10, "low": 3}
FLAG_WEIGHT = 20
BELOW_70, BELOW_54, TIR_DROP, ADHERENCE_DAYS, ADHERENCE_OF = 4.0, 1.0, 15.0, 16, 30


def adherence_needed(monitored_days: int) -> int:
    """Days with readings expected of a patient monitored this many whole days (16 in 30, pro-rated)."""
    return math.ceil(ADHERENCE_DAYS * min(monitored_days, ADHERENCE_OF) / ADHERENCE_OF)


@dataclass(slots=True)
class TriageRow:
    patient_id: Any
    display_name: str
    open_alerts: dict[str, int] = field(default_factory=dict)
    time_below_70: float | None = None  # % of CGM readings, last 14 days
    time_below_54: float | None = None
    time_in_range: float | None = None
    previous_time_in_range: float | None = None  # the 14 days before
    adherence_days: int = 0
    monitored_days: int = ADHERENCE_OF  # whole days since enrolment, at most the 30 judged
    # Dates the monitoring touched in the patient's zone (at most 30): what days with readings
    # are counted out of (14 days and an hour since enrolment touch 15 dates).
    dates_monitored: int = ADHERENCE_OF
    devices_offline: list[str] = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        found = []
        if self.time_below_70 is not None and self.time_below_70 > BELOW_70:
            found.append("time below 70 mg/dL > 4 %")
        if self.time_below_54 is not None and self.time_below_54 > BELOW_54:
            found.append("time below 54 mg/dL > 1 %")
        if (
            self.time_in_range is not None
            and self.previous_time_in_range is not None
            and self.previous_time_in_range - self.time_in_range > TIR_DROP
        ):
            found.append("time in range down > 15 points")
        needed = adherence_needed(self.monitored_days)
        if self.adherence_days < needed:
            found.append(
                f"readings on {self.adherence_days} of {self.dates_monitored} days "
                f"({needed} needed: 16 in 30)"
            )
        if self.devices_offline:
            found.append("device offline: " + ", ".join(sorted(self.devices_offline)))
        return found

    @property
    def risk(self) -> int:
        alerts = sum(ALERT_WEIGHT.get(severity, 0) * n for severity, n in self.open_alerts.items())
        return alerts + FLAG_WEIGHT * len(self.flags)
