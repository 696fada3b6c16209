"""Nightscout entries to and from the wire contract's readings.

In: what uploaders post to ``/api/v1/entries``. An ``sgv`` entry is a CGM reading, an ``mbg``
entry a finger-stick reading (xDrip+ posts calibrations as both ``mbg`` and ``cal``), always in
mg/dL unless the entry says ``units: "mmol"``. A reading's time is ``date`` (ms since 1970) or
else ``dateString``. ``sgv`` values below 39 are not glucose: Dexcom receivers send their error
states (sensor warming up, no antenna, ...) as such codes. Those, ``cal`` entries and any other
type are kept as documents, as sent, and not interpreted.

Out: stored glucose readings as Nightscout entries, newest first, with ``delta`` (the change
over five minutes) and ``direction`` (the trend arrow) from the previous CGM reading 2.5 to 15
minutes before (a closer one would turn sensor noise into a steep arrow); with none, ``delta``
is 0 and ``direction`` says ``NOT COMPUTABLE``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devices.contract import Metric, Reading
from monitoring.catalogue import Series

# Below this an ``sgv`` is a receiver's error code, not a glucose value.
SPECIAL_SGV_BELOW = 39
MAX_ENTRIES = 2000  # per request; an uploader's backlog comes in several
_MMOL = {"mmol", "mmol/l", "mmol/L"}
_KIND = {"sgv": (Metric.GLUCOSE_CGM, Series.GLUCOSE_CGM), "mbg": (Metric.GLUCOSE_METER, Series.GLUCOSE_METER)}
TYPE_OF_SERIES = {Series.GLUCOSE_CGM: "sgv", Series.GLUCOSE_METER: "mbg"}
# Dexcom's trend arrows by the rate of change in mg/dL per minute (lower bound of each band).
_DIRECTIONS = (
    (3.0, "DoubleUp"),
    (2.0, "SingleUp"),
    (1.0, "FortyFiveUp"),
    (-1.0, "Flat"),
    (-2.0, "FortyFiveDown"),
    (-3.0, "SingleDown"),
)


class EntryError(ValueError):
    """An entry of the request cannot be read; ``index`` says which."""

    def __init__(self, index: int | None, message: str) -> None:
        where = f"entry {index}: " if index is not None else ""
        super().__init__(where + message)


@dataclass(slots=True)
class Upload:
    """What a posted body holds: readings for the broker, and entries to keep as documents."""

    readings: list[Reading] = field(default_factory=list)
    answered: list[dict[str, Any]] = field(default_factory=list)  # each reading as sent, with its _id
    kept: list[dict[str, Any]] = field(default_factory=list)


def documents_of(body: object, *, what: str, limit: int = MAX_ENTRIES) -> list[dict[str, Any]]:
    """A posted body as a list of JSON objects: Nightscout clients post one object or an array."""
    items = body if isinstance(body, list) else [body]
    if len(items) > limit:
        raise EntryError(None, f"{len(items)} {what} in one request; at most {limit}")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise EntryError(index, f"each of the {what} must be a JSON object")
    return items  # type: ignore[return-value]


def read_upload(body: object, *, serial: str) -> Upload:
    upload = Upload()
    seen: set[tuple[str, datetime]] = set()
    for index, entry in enumerate(documents_of(body, what="entries")):
        kind = _kind(entry)
        value = _number(entry, kind, index) if kind in _KIND else None
        if kind not in _KIND or value is None or (kind == "sgv" and value < SPECIAL_SGV_BELOW):
            upload.kept.append(entry)
            continue
        at = entry_time(entry, index)
        metric, series = _KIND[kind]
        if (metric.value, at) in seen:
            continue  # the same reading twice in one request: Nightscout keeps it once
        seen.add((metric.value, at))
        unit = "mmol/L" if str(entry.get("units", "")).strip() in _MMOL else "mg/dL"
        upload.readings.append(Reading(metric=metric.value, unit=unit, at=at, value=value))
        upload.answered.append({**entry, "_id": entry_id(serial, series, at)})  # as Nightscout answers
    return upload


def _kind(entry: dict[str, Any]) -> str:
    kind = entry.get("type")
    if isinstance(kind, str):
        return kind
    return "sgv" if "sgv" in entry else "mbg" if "mbg" in entry else "unknown"


def _number(entry: dict[str, Any], kind: str, index: int) -> float:
    value = entry.get(kind)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise EntryError(index, f"{kind} {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EntryError(index, f"a {kind} entry needs a numeric {kind} (mg/dL)")
    return float(value)


def entry_time(entry: dict[str, Any], index: int) -> datetime:
    """When an entry was measured: ``date`` (ms since 1970), else ``dateString``, else ``sysTime``."""
    date = entry.get("date")
    if isinstance(date, int | float) and not isinstance(date, bool) and math.isfinite(date):
        try:
            return datetime.fromtimestamp(date / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise EntryError(index, f"date {date!r} is not a time in milliseconds since 1970") from None
    for name in ("dateString", "sysTime"):
        text = entry.get(name)
        if isinstance(text, str):
            return parse_time(text, index, name)
    raise EntryError(index, "needs date (milliseconds since 1970) or dateString (ISO 8601 with offset)")


def parse_time(text: str, index: int | None, name: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise EntryError(index, f"{name} {text[:40]!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise EntryError(index, f"{name} {text[:40]!r} has no UTC offset")
    return at.astimezone(UTC)


def millis(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def iso(at: datetime) -> str:
    """Nightscout's form: UTC with milliseconds and a Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def entry_id(serial: str, series: Series, at: datetime) -> str:
    """A 24-hex id like MongoDB's ObjectId (seconds first), the same for the same reading."""
    tail = hashlib.sha1(f"{serial}|{series.key}|{at.isoformat()}".encode()).hexdigest()[:16]
    return f"{int(at.timestamp()) & 0xFFFFFFFF:08x}{tail}"


def listed(
    series: Series,
    serial: str,
    at: datetime,
    value: float,
    previous: tuple[datetime, float] | None = None,
) -> dict[str, Any]:
    """One stored reading (mg/dL) as a Nightscout entry."""
    kind = TYPE_OF_SERIES[series]
    entry: dict[str, Any] = {
        "_id": entry_id(serial, series, at),
        "type": kind,
        kind: round(value),
        "date": millis(at),
        "dateString": iso(at),
        "sysTime": iso(at),
        "utcOffset": 0,
        "device": serial,
    }
    if kind == "sgv":
        entry["delta"], entry["direction"] = trend(at, value, previous)
    return entry


def trend(at: datetime, value: float, previous: tuple[datetime, float] | None) -> tuple[float, str]:
    """(change over five minutes in mg/dL, Dexcom's arrow name) from the previous reading."""
    if previous is None or previous[0] >= at:
        return 0.0, "NOT COMPUTABLE"
    minutes = (at - previous[0]).total_seconds() / 60
    per_minute = (value - previous[1]) / minutes
    direction = next((name for bound, name in _DIRECTIONS if per_minute >= bound), "DoubleDown")
    return round(per_minute * 5, 3), direction
