"""Records of the registry that other stages read: a provisioned device as ingestion sees it, and
patients and devices as long lists see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """A provisioned device as ingestion needs it: who it belongs to, whether and what it may report."""

    id: UUID
    serial: str
    patient_id: UUID | None
    status: str  # "active" or "retired"
    kind: str | None = None
    # The wire metrics its kind may send; None: not checked (offline replay of a file).
    metrics: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class PatientBrief:
    """A patient as lists of many read them: who, where, since when (no care plan)."""

    id: UUID
    display_name: str
    mrn: str
    conditions: tuple[str, ...]
    care_team_id: UUID | None
    enrolled_at: datetime
    time_zone: str


@dataclass(frozen=True, slots=True)
class DeviceBrief:
    """A device as lists of many read it: what it is and when it was last heard."""

    id: UUID
    patient_id: UUID
    kind: str
    serial: str
    online: bool
    battery: float | None
    last_seen_at: datetime | None
    quiet: bool  # silent longer than its kind's expected interval (since registration if never heard)
