"""Sign-in throttling: too many failed attempts for one account, or from one address, wait.

Failures are counted in a sliding window per key (the username, and the client
address with a higher allowance, so one address cannot try many accounts). A
success clears the account's count. The counts live in the API process: with
several API processes each counts its own, which still bounds guessing to a
small multiple; put a shared limit at the reverse proxy for more.

>>> throttle = LoginThrottle(max_failures=2, window_s=60)
>>> for t in (0.0, 1.0):
...     throttle.failed(("user:ann",), now=t)
>>> throttle.retry_after(("user:ann",), now=2.0)
58
>>> throttle.retry_after(("user:ann",), now=61.0) is None
True
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable


class LoginThrottle:
    def __init__(self, *, max_failures: int, window_s: float, max_keys: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, keys: Iterable[str], *, now: float | None = None, allowance: int = 1) -> int | None:
        """Seconds to wait before another attempt, or None when one is allowed now."""
        now = time.monotonic() if now is None else now
        waits = []
        for key in keys:
            times = self._recent(key, now)
            limit = self.max_failures * (allowance if key.startswith("ip:") else 1)
            if times is not None and len(times) >= limit:
                waits.append(math.ceil(times[-limit] + self.window_s - now))
        return max(waits) if waits else None

    def failed(self, keys: Iterable[str], *, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._failures) >= self.max_keys:  # bounded memory under a flood of usernames
            for stale in [k for k in self._failures if self._recent(k, now) is None][: self.max_keys // 10]:
                self._failures.pop(stale, None)
            if len(self._failures) >= self.max_keys:
                self._failures.clear()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
