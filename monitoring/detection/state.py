"""Detector state as JSON: what is checkpointed to PostgreSQL and restored at start.

Detectors keep their per-patient state in small objects that dump to plain
JSON (numbers, strings, lists), never pickles: a checkpoint can be read,
diffed and migrated, and loading one cannot execute code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


def dump_time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def load_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def need_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


Points = list[tuple[datetime, float]]


def dump_points(points: Iterable[tuple[datetime, float]]) -> list[list[Any]]:
    """Timed values as JSON: ``[[iso time, value], ...]``."""
    return [[at.isoformat(), value] for at, value in points]


def load_points(rows: Iterable[list[Any]]) -> Points:
    return [(datetime.fromisoformat(at), value) for at, value in rows]
