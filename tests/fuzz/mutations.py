"""Hostile and broken device messages, generated from a seed: every way a payload or topic goes wrong.

``bad_message`` returns (topic, payload). Good messages are made here too, so
that a run can check they survive among the bad ones.
"""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta
from typing import Any

from devices.contract import readings_topic, status_topic

ROOT = "rpm"
SERIAL = "fuzz-watch-1"
OTHER = "fuzz-watch-2"
KIND = "wearable"  # what the fuzzed devices are registered as: good messages carry its metrics
METRICS = [
    ("heart_rate", "/min", 72.0),
    ("spo2", "%", 97.0),
    ("respiratory_rate", "/min", 16.0),
    ("skin_temperature", "Cel", 33.5),
]


def good_message(rng: random.Random, seq: int, now: datetime) -> dict[str, Any]:
    metric, unit, value = rng.choice(METRICS)
    readings = [  # a distinct time per (message, reading): no two good readings share an identity
        {
            "metric": metric,
            "unit": unit,
            "at": (now - timedelta(minutes=1, milliseconds=10 * seq + i)).isoformat(),
            "value": value + i / 10,
        }
        for i in range(rng.randint(1, 5))
    ]
    return {"v": 1, "device_id": SERIAL, "seq": seq, "sent_at": now.isoformat(), "readings": readings}


def dump(message: Any) -> bytes:
    return json.dumps(message, allow_nan=True).encode()


def _weird_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            math.nan,
            math.inf,
            -math.inf,
            -1.0,
            0.0,
            1e308,
            -1e308,
            1e-320,
            10**30,
            "72",
            None,
            True,
            [],
            {},
            [72],
            {"value": 72},
            "NaN",
            2**64,
            -(2**63),
        ]
    )


def _mutate_field(rng: random.Random, message: dict[str, Any]) -> dict[str, Any]:
    reading = message["readings"][0]
    choice = rng.randrange(16)
    if choice == 0:
        reading["value"] = _weird_value(rng)
    elif choice == 1:
        reading["metric"] = rng.choice(["heart_beat", "", "HEART_RATE", "glucose", "💓", "a" * 5000])
    elif choice == 2:
        reading["unit"] = rng.choice(["bpm", "", "mmol/L", "lb", "kg/m2", None, 5, "°F"])
    elif choice == 3:
        reading["at"] = rng.choice(
            [
                "2999-01-01T00:00:00+00:00",
                "1970-01-01T00:00:00+00:00",
                "0001-01-01T00:00:00+00:00",
                "2026-13-45T99:99:99Z",
                "yesterday",
                1_700_000_000,
                None,
                "2026-01-01T00:00:00",
            ]
        )
    elif choice == 4:
        message["seq"] = _weird_value(rng)
    elif choice == 5:
        message["v"] = rng.choice([0, 2, 99, "1", None, -1])
    elif choice == 6:
        message["device_id"] = rng.choice([OTHER, "", "../../etc", "+", "#", "x" * 300, None, 7])
    elif choice == 7:
        del message[rng.choice(["v", "device_id", "seq", "sent_at", "readings"])]
    elif choice == 8:
        message["readings"] = rng.choice([[], None, "[]", {}, [None], [1, 2, 3]])
    elif choice == 9:
        message["readings"] = message["readings"] * rng.choice([300, 2000])  # too many, and duplicates
    elif choice == 10:
        message["readings"].append(dict(reading))  # the same reading twice in one message
    elif choice == 11:
        reading.update({"metric": "blood_pressure", "unit": "mm[Hg]", "systolic": _weird_value(rng)})
        reading.pop("value", None)
    elif choice == 12:
        reading["sqi"] = rng.choice([-0.5, 1.5, math.nan, "good", 0.1])
    elif choice == 13:
        message[rng.choice(["extra", "__proto__", "readings2"])] = {"nested": [1, 2, 3]}
    elif choice == 14:
        reading["value"] = rng.choice([1e6, -40.0, 0.0, 9999.0])  # impossible for the body
    else:
        message["sent_at"] = rng.choice(["", "never", None, 0])
    return message


def _raw(rng: random.Random, seq: int, now: datetime) -> tuple[str, bytes]:
    kind = rng.randrange(8)
    topic = readings_topic(SERIAL, ROOT)
    if kind == 0:
        return topic, rng.randbytes(rng.randint(0, 300))
    if kind == 1:
        return topic, b"{" * rng.choice([100, 10_000]) + b"}" * rng.choice([0, 100])
    if kind == 2:
        return topic, b"[" * 50_000 + b"]" * 50_000  # deep nesting
    if kind == 3:
        return topic, b'{"v": 1, "readings": [' + b'{"metric": "heart_rate"},' * 4000 + b"]}"  # > 64 KiB
    if kind == 4:
        return topic, dump(good_message(rng, seq, now))[: rng.randint(1, 60)]  # truncated
    if kind == 5:
        return topic, dump(good_message(rng, seq, now)).replace(b"72", b"\xff\xfe", 1)  # not UTF-8
    if kind == 6:
        bad_topic = rng.choice(
            [
                f"{ROOT}/v1/devices/{SERIAL}/commands",
                f"{ROOT}/v2/devices/{SERIAL}/readings",
                "rpm",
                "",
                f"other/v1/devices/{SERIAL}/readings",
            ]
        )
        return bad_topic, dump(good_message(rng, seq, now))
    return status_topic(SERIAL, ROOT), rng.choice(
        [b"{}", b'{"v": 1}', b"online", dump({"v": 1, "device_id": OTHER, "state": "online"})]
    )


def bad_message(rng: random.Random, seq: int, now: datetime) -> tuple[str, bytes]:
    if rng.random() < 0.35:
        return _raw(rng, seq, now)
    return readings_topic(SERIAL, ROOT), dump(_mutate_field(rng, good_message(rng, seq, now)))
