"""The audit log: every authenticated request about patient data, who made it and how it ended.

Also recorded: sign-ins, failed sign-ins, lock-outs and refused tokens (never the
password or the token), and for list and search answers the patients they
returned. Entries are only ever inserted: the running service's database role
may INSERT and SELECT only, and a trigger refuses UPDATE and DELETE even to the
owner (migrations 0003 and 0005).

Refusals come from anyone on the network, so they are bounded per client
address and kind (``AccessEventBudget``): past the bound, they are counted and the
next entry that is written says how many were not written one by one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from monitoring.access.principal import Principal
from monitoring.storage.models import AuditEntry

READ_METHODS = frozenset({"GET", "HEAD"})


class Action(StrEnum):
    READ = "read"
    CHANGE = "change"
    STREAM = "stream"  # a live alert stream was opened
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_LOCKED = "sign_in_locked"  # refused with 429: too many failures
    TOKEN_REFUSED = "token_refused"  # a request or stream with a missing, expired or forged token


REFUSALS = frozenset({Action.SIGN_IN_FAILED, Action.SIGN_IN_LOCKED, Action.TOKEN_REFUSED})


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """A sign-in, or something refused before anyone was signed in; ``username`` is what was typed."""

    action: Action
    reason: str
    username: str | None = None
    user_id: UUID | None = None


def entry(
    *,
    principal: Principal,
    method: str,
    path: str,
    patient_id: UUID | None,
    client: str | None,
    status: int,
    patient_ids: Sequence[UUID] | None = None,
    detail: dict[str, Any] | None = None,
    action: Action | None = None,
) -> AuditEntry:
    return AuditEntry(
        user_id=principal.user_id,
        username=principal.username,
        role=principal.role.value,
        action=(action or (Action.READ if method in READ_METHODS else Action.CHANGE)).value,
        resource=f"{method} {path}"[:300],
        patient_id=patient_id,
        patient_ids=list(dict.fromkeys(patient_ids)) if patient_ids is not None else None,
        client=client[:64] if client else None,
        status=status,
        detail=detail,
    )


def device_entry(
    *, serial: str, method: str, path: str, patient_id: UUID, client: str | None, status: int
) -> AuditEntry:
    """A request made with a device's own credentials (a Nightscout uploader) about its patient."""
    return AuditEntry(
        username=f"device:{serial}"[:64],
        role="device",
        action=(Action.READ if method in READ_METHODS else Action.CHANGE).value,
        resource=f"{method} {path}"[:300],
        patient_id=patient_id,
        client=client[:64] if client else None,
        status=status,
    )


def access_entry(
    *, event: AccessEvent, method: str, path: str, client: str | None, status: int, suppressed: int
) -> AuditEntry:
    detail: dict[str, Any] = {"reason": event.reason}
    if suppressed:
        detail["similar_not_recorded"] = suppressed
    return AuditEntry(
        user_id=event.user_id,
        username=event.username[:64] if event.username else None,
        action=event.action.value,
        resource=f"{method} {path}"[:300],
        client=client[:64] if client else None,
        status=status,
        detail=detail,
    )


class AccessEventBudget:
    """At most ``per_minute`` entries per (client address, action) of events without a signed-in user.

    >>> budget = AccessEventBudget(per_minute=2)
    >>> [budget.take("10.0.0.1", Action.TOKEN_REFUSED, now=t) for t in (0.0, 1.0, 2.0, 3.0)]
    [0, 0, None, None]
    >>> budget.take("10.0.0.1", Action.TOKEN_REFUSED, now=61.0)  # two were not written one by one
    2
    """

    def __init__(self, *, per_minute: int = 30, max_keys: int = 50_000) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._windows: dict[tuple[str, Action], tuple[float, int, int]] = {}

    def take(self, client: str, action: Action, *, now: float | None = None) -> int | None:
        """None: do not write this one. Otherwise write it, noting this many not written before it."""
        now = time.monotonic() if now is None else now
        key = (client, action)
        started, written, skipped = self._windows.get(key, (now, 0, 0))
        if now - started >= 60.0:
            started, written = now, 0
        if written >= self.per_minute:
            self._windows[key] = (started, written, skipped + 1)
            return None
        if len(self._windows) >= self.max_keys and key not in self._windows:
            self._windows.clear()  # bounded memory under a flood of addresses
        self._windows[key] = (started, written + 1, 0)
        return skipped
