"""A short-lived cache of provisioned devices, so attribution costs no query per message."""

from __future__ import annotations

import time
from collections.abc import Collection

from monitoring.registry import repository
from monitoring.registry.records import DeviceRef
from monitoring.storage.db import Database

_MAX_ENTRIES = 200_000


class DeviceDirectory:
    """Looks devices up by serial; remembers answers (including "unknown") for ``ttl_s``."""

    def __init__(self, db: Database, ttl_s: float = 30.0) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, DeviceRef | None]] = {}

    async def lookup(self, serials: Collection[str]) -> dict[str, DeviceRef]:
        now = time.monotonic()
        missing = [s for s in serials if now - self._cache.get(s, (-1e18, None))[0] > self._ttl_s]
        if missing:
            async with self._db.sessions() as session:
                found = await repository.devices_by_serial(session=session, serials=missing)
            if len(self._cache) + len(missing) > _MAX_ENTRIES:
                # Unknown serials from a misbehaving client must not grow memory without bound.
                self._cache.clear()
            for serial in missing:
                self._cache[serial] = (now, found.get(serial))
        return {s: ref for s in serials if (ref := self._cache[s][1]) is not None}

    def invalidate(self, serial: str | None = None) -> None:
        """Forget one device (after it is reassigned or retired), or all of them."""
        if serial is None:
            self._cache.clear()
        else:
            self._cache.pop(serial, None)
