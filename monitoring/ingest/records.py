"""The records ingestion passes between its steps.

The two made per message and per reading are msgspec structs: built in C,
several times cheaper than frozen dataclasses, and as immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec

from devices.contract import ErrorCode
from monitoring.catalogue import Series

# Raw payloads kept in a dead letter are cut to this size.
DEAD_LETTER_PAYLOAD_LIMIT = 16 * 1024


class Inbound(msgspec.Struct, frozen=True, gc=False):
    """One MQTT message as it came off the broker, with what is needed to acknowledge it."""

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 1
    generation: int = 0


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


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Something that could not be stored as a reading, and why."""

    received_at: datetime
    topic: str
    code: ErrorCode
    message: str
    payload: bytes
    payload_truncated: bool
    device_serial: str | None = None
    seq: int | None = None
    reading_index: int | None = None

    @classmethod
    def of(
        cls,
        inbound: Inbound,
        code: ErrorCode,
        message: str,
        *,
        payload: bytes | None = None,
        device_serial: str | None = None,
        seq: int | None = None,
        reading_index: int | None = None,
    ) -> DeadLetter:
        raw = inbound.payload if payload is None else payload
        return cls(
            received_at=inbound.received_at,
            topic=inbound.topic[:512],
            code=code,
            message=message[:1000],
            payload=raw[:DEAD_LETTER_PAYLOAD_LIMIT],
            payload_truncated=len(raw) > DEAD_LETTER_PAYLOAD_LIMIT,
            device_serial=device_serial,
            seq=seq,
            reading_index=reading_index,
        )
