"""Readiness probes: each running component says whether it can do its job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel


class ComponentStatus(BaseModel):
    name: str
    ok: bool
    detail: str | None = None


Probe = Callable[[], Awaitable[ComponentStatus]]
Probes = list[Probe]
