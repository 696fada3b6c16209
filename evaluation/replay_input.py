"""What ``monitoring replay`` accepts in a CSV, and why a row is refused.

Two forms, told apart by the header (column names are case-insensitive):

- one person: ``timestamp,value`` (``time`` for ``timestamp`` also works);
- many people: ``id,time,value`` (``id`` may be ``patient`` or ``person``; ``gl``
  or ``glucose`` may stand for ``value``, as in GlucoBench's files).

A row is refused, with its reason, on the same grounds as live ingestion
refuses a reading: a time that cannot be read, a missing or non-numeric value,
a value outside the metric's plausible range (after unit conversion), or a
second reading of the same person at the same time. A refused row stays in
the output (in its place, with the reason) and the rest of the file goes on.

>>> import io
>>> rows, many = read_rows(io.StringIO("time,value\\n2024-01-01T00:00:00Z,72\\n2024-01-01T00:01:00Z,NA\\n"),
...                        series=None, unit=None)
>>> many, [(r.value, r.refused) for r in rows]
(False, [(72.0, ''), (None, 'missing value')])
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from devices.contract import METRICS, Metric
from devices.units import to_canonical
from monitoring.catalogue import SERIES, SERIES_OF_METRIC, Series

ID_COLUMNS = ("id", "patient", "person")
TIME_COLUMNS = ("timestamp", "time")
VALUE_COLUMNS = ("value", "gl", "glucose")
MISSING = {"", "na", "nan", "null", "none", "-"}


class ReplayError(ValueError):
    """Input that cannot be replayed at all: says what is wrong and how to put it right."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # in the input file (the header is line 1)
    person: str
    time_text: str  # as written in the input
    at: datetime | None
    value: float | None  # in the metric's canonical unit
    refused: str = ""  # the reason, when the row is not replayed


def parse_time(text: str) -> datetime:
    """ISO 8601 (a time without a zone is read as UTC) or epoch seconds."""
    text = text.strip()
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        pass
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def metric_of(series: Series) -> Metric:
    return next(m for m, found in SERIES_OF_METRIC.items() if series in found)


def resolve_unit(series: Series, unit: str) -> str:
    """The accepted unit ``unit`` names, ignoring case (``mmol/l`` is ``mmol/L``)."""
    accepted = METRICS[metric_of(series)].accepted_units
    for known in accepted:
        if known.lower() == unit.strip().lower():
            return known
    raise ReplayError(
        f"unit {unit!r} is not accepted for {series.key}; use one of {', '.join(sorted(accepted))}"
    )


def _column(names: list[str], choices: Iterable[str]) -> str | None:
    lowered = {n.strip().lower(): n for n in names}
    return next((lowered[c] for c in choices if c in lowered), None)


def read_rows(source: IO[str], *, series: Series | None, unit: str | None) -> tuple[list[Row], bool]:
    """Every row of the file with its value or its reason for refusal; and whether it names people."""
    reader = csv.DictReader(source)
    names = list(reader.fieldnames or [])
    id_col, time_col = _column(names, ID_COLUMNS), _column(names, TIME_COLUMNS)
    value_col = _column(names, VALUE_COLUMNS)
    if time_col is None or value_col is None:
        raise ReplayError(
            f"the CSV header {names} needs a time column ({' or '.join(TIME_COLUMNS)}) and a value "
            f"column ({' or '.join(VALUE_COLUMNS)}), and for many people an id column"
        )
    canonical = unit
    if series is not None and unit is not None:
        canonical = resolve_unit(series, unit)
    rows, seen = [], set()
    for line, raw in enumerate(reader, start=2):
        person = (raw.get(id_col) or "").strip() if id_col else ""
        time_text = raw.get(time_col) or ""
        row = _row(line, person, time_text, raw.get(value_col), series, canonical)
        if not row.refused and row.at is not None:
            if (person, row.at) in seen:
                row = Row(line, person, time_text, row.at, row.value, "duplicate time for this person")
            seen.add((person, row.at))
        rows.append(row)
    return rows, id_col is not None


def _row(
    line: int, person: str, time_text: str, text: str | None, series: Series | None, unit: str | None
) -> Row:
    try:
        at = parse_time(time_text)
    except (TypeError, ValueError):
        return Row(line, person, time_text, None, None, f"unreadable time {time_text!r}")
    if text is None or text.strip().lower() in MISSING:
        return Row(line, person, time_text, at, None, "missing value")
    try:
        value = float(text)
    except ValueError:
        return Row(line, person, time_text, at, None, f"value {text.strip()!r} is not a number")
    if not math.isfinite(value):
        return Row(line, person, time_text, at, None, f"value {text.strip()!r} is not finite")
    if series is None:
        return Row(line, person, time_text, at, value)
    info = SERIES[series]
    if unit is not None:
        value = to_canonical(value, unit, info.unit)
    why = info.implausible(series.key, value)
    return Row(line, person, time_text, at, value, why or "")
