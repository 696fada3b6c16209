"""A care team's triage list: every patient with the flags that need attention, riskiest first.

Flags (ADA / international consensus targets, RPM program rules):
- open alerts, by severity;
- time below 70 mg/dL over 4 %, time below 54 over 1 % (last 14 days of CGM);
- time in range down more than 15 points from the 14 days before;
- fewer than 16 days with readings in the last 30;
- a device that has been quiet longer than its kind's expected interval.

Risk orders the list: each open alert counts by severity (critical 100, high 30,
medium 10, low 3), each other flag 20.

>>> row = TriageRow(patient_id=None, display_name="x", open_alerts={"critical": 1, "medium": 2},
...                 time_below_70=5.0, time_below_54=0.5, time_in_range=60.0, previous_time_in_range=80.0,
...                 adherence_days=20, devices_offline=[])
>>> row.flags, row.risk
(['time below 70 mg/dL > 4 %', 'time in range down > 15 points'], 160)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALERT_WEIGHT = {"critical": 100, "high": 30, "medium": 10, "low": 3}
FLAG_WEIGHT = 20
BELOW_70, BELOW_54, TIR_DROP, ADHERENCE_DAYS = 4.0, 1.0, 15.0, 16


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
        if self.adherence_days < ADHERENCE_DAYS:
            found.append("fewer than 16 days with readings in 30")
        if self.devices_offline:
            found.append("device offline: " + ", ".join(sorted(self.devices_offline)))
        return found

    @property
    def risk(self) -> int:
        alerts = sum(ALERT_WEIGHT.get(severity, 0) * n for severity, n in self.open_alerts.items())
        return alerts + FLAG_WEIGHT * len(self.flags)
