from datetime import UTC, datetime, timedelta
from uuid import uuid4

from devices.contract import DeviceStatus, ErrorCode, Reading, encode, readings_topic, status_topic
from monitoring.ingest.intake import attribute, decode
from monitoring.ingest.records import Inbound
from monitoring.registry.records import DeviceRef
from tests.factories import readings_payload

NOW = datetime.now(UTC)
ROOT = "rpm"
PATIENT = uuid4()
KNOWN = DeviceRef(id=uuid4(), serial="wrist-0001", patient_id=PATIENT, status="active")
DEVICES = {
    KNOWN.serial: KNOWN,
    "wrist-spare": DeviceRef(id=uuid4(), serial="wrist-spare", patient_id=None, status="active"),
    "wrist-old": DeviceRef(id=uuid4(), serial="wrist-old", patient_id=PATIENT, status="retired"),
}


def inbound(serial: str, payload: bytes, channel: str = "readings") -> Inbound:
    topic = readings_topic(serial, ROOT) if channel == "readings" else status_topic(serial, ROOT)
    return Inbound(topic=topic, payload=payload, received_at=NOW)


def hr(value: float, minutes_ago: int = 1) -> Reading:
    return Reading(metric="heart_rate", unit="/min", at=NOW - timedelta(minutes=minutes_ago), value=value)


def test_good_messages_beside_bad_ones_are_kept() -> None:
    batch = [
        inbound("wrist-0001", readings_payload("wrist-0001", 1, [hr(70, 3)])),
        inbound("wrist-0001", b'{"not": "a reading"'),
        inbound("wrist-0001", readings_payload("wrist-0001", 2, [hr(72, 2)])),
    ]
    intake = attribute([decode(i, ROOT) for i in batch], DEVICES)
    assert [r.value for r in intake.readings] == [70, 72]
    assert [d.code for d in intake.dead_letters] == [ErrorCode.MALFORMED_JSON]
    letter = intake.dead_letters[0]
    assert letter.payload == b'{"not": "a reading"'
    assert letter.device_serial == "wrist-0001"
    assert intake.seen[KNOWN.id][1] == 2


def test_one_bad_reading_is_dead_lettered_alone_with_its_index() -> None:
    payload = readings_payload("wrist-0001", 5, [hr(70, 3), hr(900, 2), hr(71, 1)])
    intake = attribute([decode(inbound("wrist-0001", payload), ROOT)], DEVICES)
    assert [r.value for r in intake.readings] == [70, 71]
    (letter,) = intake.dead_letters
    assert (letter.code, letter.reading_index, letter.seq) == (ErrorCode.VALUE_IMPLAUSIBLE, 1, 5)
    assert b"900" in letter.payload


def test_unknown_unassigned_and_retired_devices_are_refused() -> None:
    batch = [
        inbound(serial, readings_payload(serial, 1, [hr(70)]))
        for serial in ("wrist-9999", "wrist-spare", "wrist-old")
    ]
    intake = attribute([decode(i, ROOT) for i in batch], DEVICES)
    assert intake.readings == []
    assert [d.code for d in intake.dead_letters] == [
        ErrorCode.DEVICE_UNKNOWN,
        ErrorCode.DEVICE_UNASSIGNED,
        ErrorCode.DEVICE_RETIRED,
    ]


def test_a_foreign_topic_is_a_dead_letter_not_an_error() -> None:
    letter = decode(Inbound(topic="rpm/v1/devices/x/y/z", payload=b"{}", received_at=NOW), ROOT)
    assert attribute([letter], DEVICES).dead_letters[0].code is ErrorCode.TOPIC_INVALID


def test_status_messages_update_presence() -> None:
    status = DeviceStatus(device_id="wrist-0001", state="offline", at=NOW, battery=12.0)
    intake = attribute([decode(inbound("wrist-0001", encode(status), "status"), ROOT)], DEVICES)
    (update,) = intake.statuses
    assert (update.device_id, update.online, update.battery) == (KNOWN.id, False, 12.0)
