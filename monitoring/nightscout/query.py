"""Nightscout's query forms on reads: ``count`` and MongoDB-style ``find[field][$op]=value``.

Supported: ``find[date][$gte|$gt|$lte|$lt|$eq]`` (milliseconds since 1970) and the same on
``dateString``, ``sysTime`` and ``created_at`` (ISO 8601), ``find[type]=sgv|mbg``. Any other
``find`` is refused with a 400 that names it: a filter silently ignored would answer a question
that was not asked.

>>> q = read_query([("count", "3"), ("find[date][$gte]", "1764835200000")], default_count=10)
>>> q.count, q.window.after.isoformat(), q.window.after_inclusive
(3, '2025-12-04T08:00:00+00:00', True)
>>> try:
...     read_query([("find[sgv][$lt]", "70")], default_count=10)
... except InvalidRequestError as error:
...     print(error)
find[sgv][$lt] is not supported; filter on date, dateString, sysTime, created_at or type
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from monitoring.errors import InvalidRequestError
from monitoring.nightscout.entries import EntryError, parse_time
from monitoring.nightscout.repository import Window

MAX_COUNT = 10_000
_FIND = re.compile(r"^find\[(\w+)\](?:\[\$(\w+)\])?$")
_TIME_FIELDS = {"date", "dateString", "sysTime", "created_at", "mills"}


@dataclass(frozen=True, slots=True)
class ReadQuery:
    count: int
    window: Window
    kind: str | None = None


def read_query(params: Iterable[tuple[str, str]], *, default_count: int) -> ReadQuery:
    query = ReadQuery(default_count, Window())
    for name, value in params:
        if name == "count":
            query = replace(query, count=_count(value))
            continue
        found = _FIND.match(name)
        if not found:
            continue  # other parameters (token, secret, ...) are not filters
        field, op = found.group(1), found.group(2) or "eq"
        if field == "type" and op == "eq":
            query = replace(query, kind=value)
        elif field in _TIME_FIELDS:
            query = replace(query, window=_bound(query.window, op, _time(name, field, value)))
        else:
            raise InvalidRequestError(
                f"{name} is not supported; filter on date, dateString, sysTime, created_at or type"
            )
    return query


def _count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_COUNT:
        raise InvalidRequestError(f"count {value!r} must be a whole number from 1 to {MAX_COUNT}")
    return int(value)


def _time(name: str, field: str, value: str) -> datetime:
    if field in ("date", "mills"):
        try:
            return datetime.fromtimestamp(float(value) / 1000, UTC)
        except (ValueError, OverflowError, OSError):
            raise InvalidRequestError(f"{name} {value!r} must be milliseconds since 1970") from None
    try:
        return parse_time(value, None, name)
    except EntryError as error:
        raise InvalidRequestError(str(error)) from None


def _bound(window: Window, op: str, at: datetime) -> Window:
    if op in ("gte", "gt"):
        return replace(window, after=at, after_inclusive=op == "gte")
    if op in ("lte", "lt"):
        return replace(window, before=at, before_inclusive=op == "lte")
    if op == "eq":
        return Window(after=at, before=at)
    raise InvalidRequestError(f"${op} is not supported on times; use $gte, $gt, $lte, $lt or $eq")
