"""Intake of a batch of MQTT messages: decode, attribute to a patient, standardise.

Pure functions: nothing here touches the network or the database, so every
rule can be tested on its own. Whatever cannot become a reading becomes a
dead letter with a specific code; nothing raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import msgspec

from devices.contract import (
    ContractError,
    DeviceStatus,
    ErrorCode,
    ReadingError,
    ReadingsMessage,
    decode_readings,
    decode_status,
    parse_topic,
)
from monitoring.domain import DeviceState
from monitoring.ingest.records import DeadLetter, Inbound
from monitoring.ingest.standardise import standardise_message
from monitoring.readings.records import StandardReading
from monitoring.registry.records import DeviceRef

_reading_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class DecodedReadings:
    inbound: Inbound
    serial: str
    message: ReadingsMessage
    errors: list[ReadingError]


@dataclass(frozen=True, slots=True)
class DecodedStatus:
    inbound: Inbound
    serial: str
    status: DeviceStatus


Decoded = DecodedReadings | DecodedStatus | DeadLetter


def decode(inbound: Inbound, topic_root: str) -> Decoded:
    """Decode one message against the wire contract."""
    try:
        serial, channel = parse_topic(inbound.topic, topic_root)
        if channel == "status":
            return DecodedStatus(inbound, serial, decode_status(inbound.payload, serial))
        message, errors = decode_readings(inbound.payload, serial, inbound.received_at)
        return DecodedReadings(inbound, serial, message, errors)
    except ContractError as error:
        device = serial_in(inbound.topic, topic_root)
        return DeadLetter.of(inbound, error.code, error.message, device_serial=device)


def serial_in(topic: str, topic_root: str) -> str | None:
    """The device serial a topic names, if it has a device topic's shape (not validated)."""
    parts = topic.split("/")
    return parts[3][:64] if len(parts) == 5 and parts[0] == topic_root else None


@dataclass(slots=True)
class StatusUpdate:
    device_id: UUID
    online: bool
    at: datetime
    battery: float | None
    firmware: str | None


@dataclass(slots=True)
class Intake:
    """Everything one batch turns into, ready to be written in one transaction."""

    readings: list[StandardReading] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    # device id -> (last received time, highest seq) for the devices heard from
    seen: dict[UUID, tuple[datetime, int]] = field(default_factory=dict)


def _refusal(device: DeviceRef | None, serial: str) -> tuple[ErrorCode, str] | None:
    if device is None:
        return ErrorCode.DEVICE_UNKNOWN, f"device {serial!r} is not registered"
    if device.status == DeviceState.RETIRED:
        return ErrorCode.DEVICE_RETIRED, f"device {serial!r} is retired"
    if device.patient_id is None:
        return ErrorCode.DEVICE_UNASSIGNED, f"device {serial!r} is not assigned to a patient"
    return None


def attribute(decoded: Sequence[Decoded], devices: Mapping[str, DeviceRef]) -> Intake:
    """Attribute decoded messages to patients and standardise their readings."""
    intake = Intake()
    for item in decoded:
        if isinstance(item, DeadLetter):
            intake.dead_letters.append(item)
            continue
        device = devices.get(item.serial)
        if isinstance(item, DecodedStatus):
            if device is None:
                code, text = ErrorCode.DEVICE_UNKNOWN, f"device {item.serial!r} is not registered"
                intake.dead_letters.append(DeadLetter.of(item.inbound, code, text, device_serial=item.serial))
                continue
            status = item.status
            intake.statuses.append(
                StatusUpdate(
                    device.id,
                    status.state == "online",
                    status.at or item.inbound.received_at,
                    status.battery,
                    status.firmware,
                )
            )
            continue
        refusal = _refusal(device, item.serial)
        if refusal is not None:
            intake.dead_letters.append(
                DeadLetter.of(item.inbound, *refusal, device_serial=item.serial, seq=item.message.seq)
            )
            continue
        assert device is not None
        assert device.patient_id is not None
        _standardise(intake, item, device, device.patient_id)
    return intake


def _standardise(intake: Intake, item: DecodedReadings, device: DeviceRef, patient_id: UUID) -> None:
    received_at = item.inbound.received_at
    rows, errors = standardise_message(
        item.message,
        item.errors,
        patient_id=patient_id,
        device_id=device.id,
        received_at=received_at,
        kind=device.kind,
        metrics=device.metrics,
    )
    intake.readings.extend(rows)
    for error in errors:
        reading = item.message.readings[error.index]
        intake.dead_letters.append(
            DeadLetter.of(
                item.inbound,
                error.code,
                error.message,
                payload=_reading_encoder.encode(reading),
                device_serial=item.serial,
                seq=item.message.seq,
                reading_index=error.index,
            )
        )
    last_seen, last_seq = intake.seen.get(device.id, (received_at, item.message.seq))
    intake.seen[device.id] = (max(last_seen, received_at), max(last_seq, item.message.seq))


__all__ = ["Decoded", "DecodedReadings", "DecodedStatus", "Intake", "attribute", "decode", "serial_in"]
