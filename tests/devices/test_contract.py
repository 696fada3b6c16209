from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.contract import (
    MAX_PAYLOAD_BYTES,
    MAX_READINGS_PER_MESSAGE,
    ContractError,
    DeviceStatus,
    ErrorCode,
    Reading,
    ReadingError,
    ReadingsMessage,
    check_reading,
    decode_readings,
    decode_status,
    encode,
    parse_topic,
    readings_topic,
    status_topic,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def message(*readings: Reading, device: str = "cuff-0001", seq: int = 1) -> ReadingsMessage:
    return ReadingsMessage(device_id=device, seq=seq, sent_at=NOW, readings=list(readings))


def hr(value: float, at: datetime = NOW) -> Reading:
    return Reading(metric="heart_rate", unit="/min", at=at, value=value)


def refusal(payload: bytes, device: str = "cuff-0001") -> ErrorCode:
    with pytest.raises(ContractError) as raised:
        decode_readings(payload, device, NOW)
    return raised.value.code


def outcome(payload: bytes) -> tuple[ReadingsMessage, list[ReadingError]] | ContractError:
    """What decoding gives: the message and reading errors, or the contract error (never another)."""
    try:
        return decode_readings(payload, "cuff-0001", NOW)
    except ContractError as error:
        return error


def test_a_valid_batch_decodes_with_no_errors() -> None:
    bp = Reading(metric="blood_pressure", unit="mm[Hg]", at=NOW, systolic=142, diastolic=91)
    decoded, errors = decode_readings(encode(message(bp, hr(71))), "cuff-0001", NOW)
    assert errors == []
    assert decoded.seq == 1
    assert decoded.readings[0].systolic == 142
    assert decoded.readings[1].value == 71


def test_the_documented_example_is_valid() -> None:
    payload = (
        b'{"v": 1, "device_id": "cuff-0001", "seq": 42, "sent_at": "2026-11-23T08:00:05Z",'
        b' "readings": [{"metric": "blood_pressure", "unit": "mm[Hg]", "at": "2026-11-23T08:00:00Z",'
        b' "systolic": 142, "diastolic": 91},'
        b' {"metric": "heart_rate", "unit": "/min", "at": "2026-11-23T08:00:00Z", "value": 71}]}'
    )
    decoded, errors = decode_readings(payload, "cuff-0001", NOW)
    assert (decoded.seq, errors) == (42, [])


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"not json", ErrorCode.MALFORMED_JSON),
        (b'{"v": 1}', ErrorCode.SCHEMA_INVALID),
        (b'{"v": 2, "device_id": "cuff-0001", "seq": 1}', ErrorCode.UNSUPPORTED_VERSION),
        (
            b'{"device_id": "cuff-0001", "seq": 1, "sent_at": "2026-11-23T08:00:00", "readings": []}',
            ErrorCode.SCHEMA_INVALID,  # a time without a zone is ambiguous
        ),
        (
            b'{"device_id": "cuff-0001", "seq": -1, "sent_at": "2026-11-23T08:00:00Z", "readings": []}',
            ErrorCode.SCHEMA_INVALID,
        ),
        (
            b'{"device_id": "cuff-0001", "seq": 1, "sent_at": "2026-11-23T08:00:00Z", "readings": []}',
            ErrorCode.BATCH_EMPTY,
        ),
    ],
)
def test_whole_message_refusals_carry_specific_codes(payload: bytes, code: ErrorCode) -> None:
    assert refusal(payload) is code


def test_a_payload_over_the_size_limit_is_refused_before_parsing() -> None:
    assert refusal(b" " * (MAX_PAYLOAD_BYTES + 1)) is ErrorCode.PAYLOAD_TOO_LARGE


def test_too_many_readings_are_refused() -> None:
    readings = [hr(70, NOW - timedelta(seconds=i)) for i in range(MAX_READINGS_PER_MESSAGE + 1)]
    assert refusal(encode(message(*readings))) is ErrorCode.BATCH_TOO_LARGE


def test_the_payload_device_must_match_the_topic_device() -> None:
    assert refusal(encode(message(hr(70))), device="cuff-0002") is ErrorCode.DEVICE_MISMATCH


@pytest.mark.parametrize(
    ("reading", "code"),
    [
        (Reading(metric="lactate", unit="mmol/L", at=NOW, value=1), ErrorCode.METRIC_UNKNOWN),
        (Reading(metric="heart_rate", unit="Hz", at=NOW, value=1), ErrorCode.UNIT_INVALID),
        (Reading(metric="heart_rate", unit="/min", at=NOW), ErrorCode.VALUE_SHAPE),
        (
            Reading(metric="blood_pressure", unit="mm[Hg]", at=NOW, value=120),
            ErrorCode.VALUE_SHAPE,
        ),
        # JSON has no NaN: an encoder writes null, which leaves the reading without a value.
        (
            Reading(metric="heart_rate", unit="/min", at=NOW, value=float("nan")),
            ErrorCode.VALUE_SHAPE,
        ),
        (hr(70, NOW + timedelta(minutes=10)), ErrorCode.TIME_IN_FUTURE),
        (hr(70, NOW - timedelta(days=31)), ErrorCode.TIME_TOO_OLD),
    ],
)
def test_a_bad_reading_is_set_aside_and_its_neighbours_kept(reading: Reading, code: ErrorCode) -> None:
    payload = msgspec.json.encode(message(hr(70, NOW - timedelta(minutes=1)), reading, hr(72)))
    decoded, errors = decode_readings(payload, "cuff-0001", NOW)
    assert [(e.index, e.code) for e in errors] == [(1, code)]
    assert len(decoded.readings) == 3


def test_a_repeated_reading_in_one_message_is_flagged() -> None:
    _, errors = decode_readings(encode(message(hr(70), hr(71))), "cuff-0001", NOW)
    assert [(e.index, e.code) for e in errors] == [(1, ErrorCode.DUPLICATE_READING)]


@given(payload=st.binary(max_size=2048))
def test_arbitrary_bytes_never_escape_as_anything_but_a_contract_error(payload: bytes) -> None:
    result = outcome(payload)
    if isinstance(result, ContractError):
        assert result.code in set(ErrorCode)
        assert result.message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    body=st.fixed_dictionaries(
        {"device_id": st.just("cuff-0001"), "seq": st.integers(), "sent_at": st.text(max_size=30)},
        optional={"readings": json_values, "v": json_values},
    )
)
def test_arbitrary_json_shapes_are_refused_cleanly_or_decoded(body: dict[str, object]) -> None:
    result = outcome(msgspec.json.encode(body))
    if isinstance(result, ContractError):
        assert result.code in set(ErrorCode)
    else:
        decoded, errors = result
        assert all(0 <= e.index < len(decoded.readings) for e in errors)


def test_status_round_trip_and_mismatch() -> None:
    status = DeviceStatus(device_id="cuff-0001", state="online", at=NOW, battery=81.5, firmware="2.1")
    assert decode_status(encode(status), "cuff-0001") == status
    with pytest.raises(ContractError) as raised:
        decode_status(encode(status), "cuff-0002")
    assert raised.value.code is ErrorCode.DEVICE_MISMATCH


def test_topics_round_trip_and_foreign_topics_are_refused() -> None:
    assert parse_topic(readings_topic("cuff-0001")) == ("cuff-0001", "readings")
    assert parse_topic(status_topic("cuff-0001", "site7"), "site7") == ("cuff-0001", "status")
    for bad in ("rpm/v2/devices/cuff-0001/readings", "rpm/v1/devices/../readings", "rpm/v1/devices/x"):
        with pytest.raises(ContractError) as raised:
            parse_topic(bad)
        assert raised.value.code is ErrorCode.TOPIC_INVALID


def test_a_non_finite_value_built_in_code_is_refused() -> None:
    reading = Reading(metric="heart_rate", unit="/min", at=NOW, value=float("inf"))
    problem = check_reading(reading, NOW)
    assert problem is not None
    assert problem[0] is ErrorCode.VALUE_NOT_FINITE


def test_an_overflowing_number_is_refused_as_schema_invalid() -> None:
    payload = (
        b'{"device_id": "cuff-0001", "seq": 1, "sent_at": "2026-11-23T08:00:00Z", "readings": '
        b'[{"metric": "heart_rate", "unit": "/min", "at": "2026-11-23T08:00:00Z", "value": 1e400}]}'
    )
    assert refusal(payload) is ErrorCode.SCHEMA_INVALID
