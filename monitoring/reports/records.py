"""What the reports compute about a patient, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
