"""Records of the registry that other stages read: a provisioned device as ingestion sees it."""

from __future__ import annotations

from dataclasses import dataclass
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
