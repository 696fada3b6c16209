"""The AsyncAPI document device makers read says what the code enforces."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import yaml

from devices.contract import (
    MAX_PAYLOAD_BYTES,
    MAX_READINGS_PER_MESSAGE,
    METRICS,
    ErrorCode,
    decode_readings,
    decode_status,
    readings_topic,
    status_topic,
)

DOC: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml").read_text()
)
SCHEMAS = DOC["components"]["schemas"]


def test_topics_match_the_contract() -> None:
    assert DOC["channels"]["readings"]["address"] == readings_topic("{deviceId}")
    assert DOC["channels"]["status"]["address"] == status_topic("{deviceId}")


def test_metrics_units_and_error_codes_match_the_contract() -> None:
    assert set(SCHEMAS["Reading"]["properties"]["metric"]["enum"]) == {m.value for m in METRICS}
    units_text = SCHEMAS["Reading"]["properties"]["unit"]["description"]
    for spec in METRICS.values():
        for unit in spec.accepted_units:
            assert unit in units_text
    assert SCHEMAS["ErrorCode"]["enum"] == [code.value for code in ErrorCode]
    assert SCHEMAS["ReadingsMessage"]["properties"]["readings"]["maxItems"] == MAX_READINGS_PER_MESSAGE
    assert str(MAX_PAYLOAD_BYTES) in DOC["info"]["description"]


def test_the_examples_are_valid_messages() -> None:
    received = datetime(2026, 11, 23, 8, 1, tzinfo=UTC)
    for example in DOC["components"]["messages"]["Readings"]["examples"]:
        message, errors = decode_readings(msgspec.json.encode(example["payload"]), "cuff-0001", received)
        assert errors == []
        assert message.readings
    for example in DOC["components"]["messages"]["Status"]["examples"]:
        decode_status(msgspec.json.encode(example["payload"]), "cuff-0001")
