"""The records ingestion passes between its steps: a message off the broker, a refusal.

The one made per message is a msgspec struct: built in C, several times cheaper
than a frozen dataclass, and as immutable. A stored reading is
``readings.records.StandardReading``; a device, ``registry.records.DeviceRef``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec

from devices.contract import ErrorCode

# Raw payloads kept in a dead letter are cut to this size.
DEAD_LETTER_PAYLOAD_LIMIT = 16 * 1024


class Inbound(msgspec.Struct, frozen=True, gc=False):
    """One MQTT message as it came off the broker, with what is needed to acknowledge it.

    From MQTT: the packet id and the connection generation that delivered it.
    From JetStream: the subject its acknowledgement goes to, and its partition.
    """

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 1
    generation: int = 0
    reply: str = ""
    partition: int = 0


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
