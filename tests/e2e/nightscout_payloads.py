"""Request bodies as real Nightscout uploaders send them, rebuilt around a given time.

The shapes are those of the apps' own upload code:

- xDrip+ ``NightscoutUploader`` (REST API v1): one POST to ``entries`` with an array of ``sgv``
  entries (``device`` "xDrip-<collector>", ``date`` in ms, ``dateString`` and ``sysTime`` in the
  phone's zone as ``yyyy-MM-dd'T'HH:mm:ss.SSSZ``, ``delta``, ``direction``, ``filtered``,
  ``unfiltered`` scaled by 1000, ``rssi`` 100, ``noise``), plus ``mbg`` entries for blood tests
  and for each calibration, and a ``cal`` entry (slope, intercept, scale); treatments are
  upserted one by one with PUT, ``_id`` derived from the treatment's uuid.
- AndroidAPS ``NSUpload.uploadBg``: one ``sgv`` document per reading (``device`` = the BG
  source, ``date``, ``dateString`` in UTC with Z, ``sgv`` as a decimal, ``direction``,
  ``type``); treatments with ``eventType``, ``created_at`` and ``enteredBy``
  "openaps://AndroidAPS"; device statuses with ``device`` "openaps://<phone>", ``pump``,
  ``openaps`` and ``uploaderBattery``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_PHONE_ZONE = timezone(timedelta(hours=1))  # the uploading phone's local zone


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _xdrip_time(at: datetime) -> str:
    local = at.astimezone(_PHONE_ZONE)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+0100"


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def xdrip_entries(
    values: list[int], end: datetime, *, calibration: int | None = None
) -> list[dict[str, Any]]:
    """xDrip+'s entries upload: CGM readings five minutes apart ending at ``end``, then a calibration."""
    start = end - timedelta(minutes=5 * (len(values) - 1))
    body: list[dict[str, Any]] = []
    for i, value in enumerate(values):
        at = start + timedelta(minutes=5 * i)
        body.append(
            {
                "device": "xDrip-DexcomG6",
                "date": _ms(at),
                "dateString": _xdrip_time(at),
                "sgv": value,
                "delta": 0.0 if i == 0 else float(value - values[i - 1]),
                "direction": "Flat",
                "type": "sgv",
                "filtered": value * 1000.0,
                "unfiltered": value * 1000.0,
                "rssi": 100,
                "noise": 1,
                "sysTime": _xdrip_time(at),
            }
        )
    if calibration is not None:
        at = end - timedelta(minutes=2)
        common = {"device": "xDrip-DexcomG6", "date": _ms(at), "dateString": _xdrip_time(at)}
        body.append({**common, "type": "mbg", "mbg": calibration, "sysTime": _xdrip_time(at)})
        body.append(
            {
                **common,
                "type": "cal",
                "slope": 1000.0,
                "intercept": 0.0,
                "scale": 1,
                "sysTime": _xdrip_time(at),
            }
        )
    return body


def xdrip_treatment(at: datetime, carbs: int) -> dict[str, Any]:
    """A carb entry as xDrip+ upserts it (PUT treatments, ``_id`` from the uuid's first 24 hex)."""
    treatment_uuid = str(uuid.uuid4())
    return {
        "timestamp": _ms(at),
        "eventType": "Carbs",
        "enteredBy": "xdrip",
        "notes": "lunch",
        "uuid": treatment_uuid,
        "carbs": carbs,
        "insulin": 0,
        "created_at": _utc(at),
        "sysTime": _xdrip_time(at),
        "_id": treatment_uuid.replace("-", "")[:24],
    }


def aaps_sgv(value: float, at: datetime) -> dict[str, Any]:
    return {
        "device": "AndroidAPS-DexcomG6",
        "date": _ms(at),
        "dateString": _utc(at),
        "sgv": value,
        "direction": "FortyFiveDown",
        "type": "sgv",
    }


def aaps_bolus(at: datetime, units: float) -> dict[str, Any]:
    return {
        "eventType": "Correction Bolus",
        "insulin": units,
        "created_at": _utc(at),
        "enteredBy": "openaps://AndroidAPS",
        "isSMB": False,
        "date": _ms(at),
    }


def aaps_device_status(at: datetime, battery: int) -> dict[str, Any]:
    return {
        "device": "openaps://samsung SM-G970F",
        "created_at": _utc(at),
        "uploaderBattery": battery,
        "pump": {"clock": _utc(at), "reservoir": 132.5, "battery": {"percent": 75}},
        "openaps": {
            "iob": {"iob": 1.2, "basaliob": 0.3, "time": _utc(at)},
            "suggested": {"bg": 98, "eventualBG": 104, "reason": "in range", "timestamp": _utc(at)},
        },
    }
