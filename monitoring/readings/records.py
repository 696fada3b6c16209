"""A reading in canonical units: what ingestion stores and the detectors and reports read.

A msgspec struct: one is made per reading, built in C and several times cheaper
than a frozen dataclass.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from monitoring.catalogue import Series


class StandardReading(msgspec.Struct, frozen=True, gc=False):
    """A reading in canonical units, attributed to a patient, ready to store."""

    patient_id: UUID
    device_id: UUID
    series: Series
    measured_at: datetime
    value: float
    seq: int
    received_at: datetime
    original_value: float | None = None
    original_unit: str | None = None
    sqi: float | None = None
