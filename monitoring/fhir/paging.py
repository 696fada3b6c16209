"""Searchset paging as FHIR clients follow it: opaque page tokens, ``self``/``next``/``previous``
links as absolute URLs, ``total``.

A page token names a row of the search's order and a direction (the rows after it, or before
it), so that readings stored between two page requests (a device uploading what it kept while
offline) neither shift a page nor hide a row, which counting rows with an offset would. Every
search also pins its time window in the links, so later pages search exactly what the first did.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode
from uuid import UUID

from monitoring.errors import InvalidRequestError

PAGE_PARAM = "_page"
NOT_OURS = f"{PAGE_PARAM}: not a page token of this search; follow the Bundle's links"
KeyPart = datetime | int | UUID | str
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cursor:
    forward: bool  # the rows after ``key`` in the search's order (False: the rows before it)
    key: tuple[KeyPart, ...]


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """One page of rows, in the search's order, and whether the search goes on either side."""

    rows: list[T]
    more_before: bool
    more_after: bool


def _part(value: KeyPart) -> list[str | int]:
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, UUID):
        return ["u", value.hex]
    if isinstance(value, int):
        return ["i", value]
    return ["s", value]


def _unpart(pair: Any) -> KeyPart:
    tag, value = pair
    match tag:
        case "t":
            return datetime.fromisoformat(value)
        case "u":
            return UUID(hex=value)
        case "i" if isinstance(value, int):
            return value
        case "s" if isinstance(value, str):
            return value
    raise ValueError(tag)


def encode(cursor: Cursor) -> str:
    raw = json.dumps([cursor.forward, [_part(p) for p in cursor.key]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str | None, shape: tuple[type, ...]) -> Cursor | None:
    """The cursor of a ``_page`` token whose key has this shape (the types of the search's order);
    a token that is not one of ours, or not of this search, is a 400 saying so."""
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        forward, key = json.loads(raw)
        cursor = Cursor(bool(forward), tuple(_unpart(p) for p in key))
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise InvalidRequestError(NOT_OURS) from error
    if len(cursor.key) != len(shape) or not all(
        isinstance(part, kind) for part, kind in zip(cursor.key, shape, strict=True)
    ):
        raise InvalidRequestError(NOT_OURS)
    return cursor


def links(
    found: Found[T], *, url: str, query: Sequence[tuple[str, str]], key: Any, came_with: Cursor | None
) -> list[dict[str, str]]:
    """``self``, and ``next`` / ``previous`` where the search goes on, as absolute URLs that repeat
    the pinned search; ``key`` gives a row's place in the order."""

    def page(cursor: Cursor | None) -> str:
        extra = [] if cursor is None else [(PAGE_PARAM, encode(cursor))]
        return f"{url}?{urlencode([*query, *extra])}"

    result = [{"relation": "self", "url": page(came_with)}]
    if not found.rows:
        return result
    if found.more_before:
        result.append({"relation": "previous", "url": page(Cursor(False, key(found.rows[0])))})
    if found.more_after:
        result.append({"relation": "next", "url": page(Cursor(True, key(found.rows[-1])))})
    return result
