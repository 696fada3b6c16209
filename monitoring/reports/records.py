"""What the reports compute about a patient, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from monitoring.catalogue import Series


@dataclass(slots=True)
class Glance:
    """The slow facts of one patient: what needs weeks of readings (see ``reports.glance``)."""

    time_in_range: float | None = None  # % of CGM readings in 70-180 mg/dL, last 14 days
    time_below_70: float | None = None
    time_below_54: float | None = None
    time_above_250: float | None = None
    previous_time_in_range: float | None = None  # the 14 days before
    adherence_days: int = 0  # local days with any reading, of the last 30
    spark_series: Series | None = None
    spark: list[float | None] | None = None  # means of the key series, oldest first
    computed_at: datetime | None = None  # when it was stored (None: computed just now)


SortKey = Literal["risk", "name", "last_reading", "time_in_range", "adherence"]
AlertFilter = Literal["any", "none", "high", "critical"]
FlagFilter = Literal["any", "none", "low_glucose", "time_in_range_drop", "adherence", "device_offline"]


@dataclass(frozen=True, slots=True)
class PanelQuery:
    """What a panel page asks for: filters, and the sort (worked out in SQL over every patient in
    reach, see ``reports.panel_repository``)."""

    text: str | None = None  # part of the name, or the start of the MRN
    care_team_id: UUID | None = None
    condition: str | None = None
    flag: FlagFilter | None = None
    alerts: AlertFilter | None = None
    sort: SortKey = "risk"
    reverse: bool = False  # against the key's natural order (riskiest, longest silent, lowest TIR first)
