"""Wire contract v1 between home devices (or their gateways) and the monitoring service.

This module is the single definition of what travels over MQTT: topics, the
payload schema, the metrics and the units each metric may be reported in, the
size limits and the validation rules with their error codes. The service and
the simulators both import it; device makers read it through
``docs/asyncapi.yaml`` and the README.

Topics (``root`` is a deployment setting, ``rpm`` by default)::

    {root}/v1/devices/{device_id}/readings   QoS 1, not retained: a batch of readings
    {root}/v1/devices/{device_id}/status     QoS 1, retained: online/offline, battery, firmware

A readings message::

    {"v": 1, "device_id": "cuff-0001", "seq": 42, "sent_at": "2026-11-23T08:00:05Z",
     "readings": [
       {"metric": "blood_pressure", "unit": "mm[Hg]", "at": "2026-11-23T08:00:00Z",
        "systolic": 142, "diastolic": 91},
       {"metric": "heart_rate", "unit": "/min", "at": "2026-11-23T08:00:00Z", "value": 71}]}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

CONTRACT_VERSION = 1
DEFAULT_TOPIC_ROOT = "rpm"
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_READINGS_PER_MESSAGE = 500
# A device clock may run a little fast; beyond this a measurement time is refused.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Store-and-forward backlogs older than this are refused rather than back-filled.
MAX_READING_AGE = timedelta(days=30)

DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$"
_DEVICE_ID_RE = re.compile(DEVICE_ID_PATTERN)


class Metric(StrEnum):
    """What a reading measures, as named on the wire."""

    HEART_RATE = "heart_rate"
    RESPIRATORY_RATE = "respiratory_rate"
    SPO2 = "spo2"
    BLOOD_PRESSURE = "blood_pressure"
    BODY_TEMPERATURE = "body_temperature"
    SKIN_TEMPERATURE = "skin_temperature"
    BODY_WEIGHT = "body_weight"
    GLUCOSE_CGM = "glucose_cgm"
    GLUCOSE_METER = "glucose_meter"
    STEPS = "steps"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """The units a metric may arrive in, and the one the service stores."""

    canonical_unit: str
    accepted_units: frozenset[str]
    components: tuple[str, ...] = ()  # non-empty for panels such as blood pressure


METRICS: dict[Metric, MetricSpec] = {
    Metric.HEART_RATE: MetricSpec("/min", frozenset({"/min", "{beats}/min"})),
    Metric.RESPIRATORY_RATE: MetricSpec("/min", frozenset({"/min", "{breaths}/min"})),
    Metric.SPO2: MetricSpec("%", frozenset({"%"})),
    Metric.BLOOD_PRESSURE: MetricSpec("mm[Hg]", frozenset({"mm[Hg]"}), components=("systolic", "diastolic")),
    Metric.BODY_TEMPERATURE: MetricSpec("Cel", frozenset({"Cel", "[degF]"})),
    Metric.SKIN_TEMPERATURE: MetricSpec("Cel", frozenset({"Cel", "[degF]"})),
    Metric.BODY_WEIGHT: MetricSpec("kg", frozenset({"kg", "g", "[lb_av]"})),
    Metric.GLUCOSE_CGM: MetricSpec("mg/dL", frozenset({"mg/dL", "mmol/L"})),
    Metric.GLUCOSE_METER: MetricSpec("mg/dL", frozenset({"mg/dL", "mmol/L"})),
    Metric.STEPS: MetricSpec("/d", frozenset({"/d"})),
}


class ErrorCode(StrEnum):
    """Why a message or a reading was refused; stored with every dead letter."""

    PAYLOAD_TOO_LARGE = "payload_too_large"
    MALFORMED_JSON = "malformed_json"
    SCHEMA_INVALID = "schema_invalid"
    UNSUPPORTED_VERSION = "unsupported_version"
    TOPIC_INVALID = "topic_invalid"
    DEVICE_MISMATCH = "device_mismatch"
    BATCH_EMPTY = "batch_empty"
    BATCH_TOO_LARGE = "batch_too_large"
    METRIC_UNKNOWN = "metric_unknown"
    METRIC_NOT_FOR_DEVICE = "metric_not_for_device"  # e.g. glucose from a wrist wearable
    UNIT_INVALID = "unit_invalid"
    VALUE_SHAPE = "value_shape"
    VALUE_NOT_FINITE = "value_not_finite"
    VALUE_IMPLAUSIBLE = "value_implausible"
    TIME_IN_FUTURE = "time_in_future"
    TIME_TOO_OLD = "time_too_old"
    DUPLICATE_READING = "duplicate_reading"
    DEVICE_UNKNOWN = "device_unknown"
    DEVICE_UNASSIGNED = "device_unassigned"
    DEVICE_RETIRED = "device_retired"
    QUOTA_EXCEEDED = "quota_exceeded"  # the device's refused messages this hour are counted, not kept
    # The service failed on this message itself; operators are told through the logs.
    PROCESSING_FAILED = "processing_failed"


class ContractError(ValueError):
    """A whole message breaks the contract."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ReadingError:
    """One reading of an otherwise valid message breaks the contract."""

    index: int
    code: ErrorCode
    message: str


AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
DeviceId = Annotated[str, msgspec.Meta(pattern=DEVICE_ID_PATTERN)]


class Reading(msgspec.Struct, omit_defaults=True):
    """One measurement. Scalar metrics carry ``value``; blood pressure carries its components."""

    metric: str
    unit: str
    at: AwareDatetime
    value: float | None = None
    systolic: float | None = None
    diastolic: float | None = None
    # Optional signal quality index reported by the device, 0 (unusable) to 1 (clean).
    sqi: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None


class ReadingsMessage(msgspec.Struct, omit_defaults=True):
    """A batch of readings from one device; ``seq`` increases by one per message."""

    device_id: DeviceId
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    sent_at: AwareDatetime
    readings: list[Reading]
    v: int = CONTRACT_VERSION


class DeviceStatus(msgspec.Struct, omit_defaults=True):
    """Retained presence of a device; the offline form is also its MQTT last will."""

    device_id: DeviceId
    state: Literal["online", "offline"]
    at: AwareDatetime | None = None
    battery: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] | None = None
    firmware: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    kind: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    v: int = CONTRACT_VERSION


class _Envelope(msgspec.Struct):
    v: int = CONTRACT_VERSION


Channel = Literal["readings", "status"]

_readings_decoder = msgspec.json.Decoder(ReadingsMessage)
_status_decoder = msgspec.json.Decoder(DeviceStatus)
_envelope_decoder = msgspec.json.Decoder(_Envelope)
_encoder = msgspec.json.Encoder()


def client_id(device_id: str) -> str:
    """A device's MQTT client id: ``device-`` and its id, a ``.`` written as ``~``.

    A NATS cluster's MQTT listener refuses client ids holding a ``.``, which a
    device id may; ``~`` is in no device id, so no two devices share a client id.

    >>> client_id("cgm.7")
    'device-cgm~7'
    """
    return "device-" + device_id.replace(".", "~")


def readings_topic(device_id: str, root: str = DEFAULT_TOPIC_ROOT) -> str:
    return f"{root}/v{CONTRACT_VERSION}/devices/{device_id}/readings"


def status_topic(device_id: str, root: str = DEFAULT_TOPIC_ROOT) -> str:
    return f"{root}/v{CONTRACT_VERSION}/devices/{device_id}/status"


def subscription(channel: Channel, root: str = DEFAULT_TOPIC_ROOT) -> str:
    """The wildcard filter a server subscribes to for one channel of every device."""
    return f"{root}/v{CONTRACT_VERSION}/devices/+/{channel}"


def parse_topic(topic: str, root: str = DEFAULT_TOPIC_ROOT) -> tuple[str, Channel]:
    """Split a device topic into (device_id, channel), or raise ``ContractError``."""
    parts = topic.split("/")
    if (
        len(parts) != 5
        or parts[0] != root
        or parts[1] != f"v{CONTRACT_VERSION}"
        or parts[2] != "devices"
        or parts[4] not in ("readings", "status")
        or not _DEVICE_ID_RE.match(parts[3])
    ):
        raise ContractError(ErrorCode.TOPIC_INVALID, f"topic {topic!r} is not a v1 device topic")
    channel: Channel = "readings" if parts[4] == "readings" else "status"
    return parts[3], channel


def encode(message: ReadingsMessage | DeviceStatus) -> bytes:
    return _encoder.encode(message)


def _decode_error(payload: bytes, error: msgspec.DecodeError) -> ContractError:
    if not isinstance(error, msgspec.ValidationError):
        return ContractError(ErrorCode.MALFORMED_JSON, f"payload is not valid JSON: {error}")
    try:
        version = _envelope_decoder.decode(payload).v
    except msgspec.DecodeError:
        version = CONTRACT_VERSION
    if version != CONTRACT_VERSION:
        return ContractError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"payload version {version} is not supported (expected {CONTRACT_VERSION})",
        )
    return ContractError(ErrorCode.SCHEMA_INVALID, f"payload does not match the v1 schema: {error}")


def _check_size(payload: bytes) -> None:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}",
        )


def decode_status(payload: bytes, topic_device_id: str) -> DeviceStatus:
    """Decode a status message, or raise ``ContractError``."""
    _check_size(payload)
    try:
        status = _status_decoder.decode(payload)
    except msgspec.DecodeError as error:
        raise _decode_error(payload, error) from None
    if status.v != CONTRACT_VERSION:
        raise ContractError(ErrorCode.UNSUPPORTED_VERSION, f"status version {status.v} is not supported")
    if status.device_id != topic_device_id:
        raise ContractError(
            ErrorCode.DEVICE_MISMATCH,
            f"payload device {status.device_id!r} does not match topic device {topic_device_id!r}",
        )
    return status


def decode_readings(
    payload: bytes, topic_device_id: str, received_at: datetime
) -> tuple[ReadingsMessage, list[ReadingError]]:
    """Decode and validate a readings message.

    Raises ``ContractError`` when the message as a whole is unusable; otherwise
    returns the message and the errors of the individual readings that must be
    set aside (the others are good and must be kept).
    """
    _check_size(payload)
    try:
        message = _readings_decoder.decode(payload)
    except msgspec.DecodeError as error:
        raise _decode_error(payload, error) from None
    if message.v != CONTRACT_VERSION:
        raise ContractError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"payload version {message.v} is not supported (expected {CONTRACT_VERSION})",
        )
    if message.device_id != topic_device_id:
        raise ContractError(
            ErrorCode.DEVICE_MISMATCH,
            f"payload device {message.device_id!r} does not match topic device {topic_device_id!r}",
        )
    if not message.readings:
        raise ContractError(ErrorCode.BATCH_EMPTY, "message carries no readings")
    if len(message.readings) > MAX_READINGS_PER_MESSAGE:
        raise ContractError(
            ErrorCode.BATCH_TOO_LARGE,
            f"message carries {len(message.readings)} readings; the limit is {MAX_READINGS_PER_MESSAGE}",
        )
    errors: list[ReadingError] = []
    seen: set[tuple[str, datetime]] = set()
    window = TimeWindow.around(received_at)
    for index, reading in enumerate(message.readings):
        problem = check_reading(reading, window)
        if problem is None and (reading.metric, reading.at) in seen:
            problem = (
                ErrorCode.DUPLICATE_READING,
                f"{reading.metric} at {reading.at.isoformat()} appears twice in the message",
            )
        if problem is not None:
            errors.append(ReadingError(index, *problem))
        else:
            seen.add((reading.metric, reading.at))
    return message, errors


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The measurement times a message received at one moment may carry."""

    received_at: datetime
    latest: datetime
    earliest: datetime

    @classmethod
    def around(cls, received_at: datetime) -> TimeWindow:
        return cls(received_at, received_at + MAX_CLOCK_SKEW, received_at - MAX_READING_AGE)


# The contract's metrics by their wire name: one dict lookup per reading, no enum call.
_SPECS: dict[str, MetricSpec] = {metric.value: spec for metric, spec in METRICS.items()}


def check_reading(reading: Reading, received: datetime | TimeWindow) -> tuple[ErrorCode, str] | None:
    """Apply the contract's per-reading rules; ``None`` means the reading is acceptable."""
    window = received if isinstance(received, TimeWindow) else TimeWindow.around(received)
    spec = _SPECS.get(reading.metric)
    if spec is None:
        return ErrorCode.METRIC_UNKNOWN, f"metric {reading.metric!r} is not in the v1 contract"
    if reading.unit not in spec.accepted_units:
        accepted = ", ".join(sorted(spec.accepted_units))
        return (
            ErrorCode.UNIT_INVALID,
            f"unit {reading.unit!r} is not accepted for {reading.metric} (accepted: {accepted})",
        )
    if spec.components:
        if reading.value is not None or reading.systolic is None or reading.diastolic is None:
            return (
                ErrorCode.VALUE_SHAPE,
                f"{reading.metric} needs systolic and diastolic and no value",
            )
        finite = math.isfinite(reading.systolic) and math.isfinite(reading.diastolic)
    else:
        if reading.value is None or reading.systolic is not None or reading.diastolic is not None:
            return ErrorCode.VALUE_SHAPE, f"{reading.metric} needs a single value"
        finite = math.isfinite(reading.value)
    if not finite:
        return ErrorCode.VALUE_NOT_FINITE, f"{reading.metric} value is not a finite number"
    if reading.at > window.latest:
        return (
            ErrorCode.TIME_IN_FUTURE,
            f"measurement time {reading.at.isoformat()} is ahead of the server clock "
            f"by more than {int(MAX_CLOCK_SKEW.total_seconds())} s",
        )
    if reading.at < window.earliest:
        return (
            ErrorCode.TIME_TOO_OLD,
            f"measurement time {reading.at.isoformat()} is older than {MAX_READING_AGE.days} days",
        )
    return None
