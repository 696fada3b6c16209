"""A durable store-and-forward outbox: messages wait in a SQLite file until the broker has them.

Each message gets the device's next sequence number when it is stored; the
counter itself is stored too, so a sequence number is never reused, even after
a restart with an empty outbox. Messages leave only when ``remove`` is called
for them, which the client does on the broker's PUBACK.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL, stored_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('next_seq', 0), ('dropped', 0);
"""


class Outbox:
    """Thread-safe; one file per device (or one per gateway, keyed by the caller)."""

    def __init__(self, path: Path | str, *, max_messages: int = 200_000) -> None:
        self.path = Path(path)
        self.max_messages = max_messages
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a power cut may lose the last transactions, never corrupt the file.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def append(self, build: Callable[[int], bytes]) -> int:
        """Store the message ``build(seq)`` under the next sequence number; return that number."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (seq,) = self._db.execute("SELECT value FROM counters WHERE name = 'next_seq'").fetchone()
                self._db.execute("INSERT INTO outbox VALUES (?, ?, ?)", (seq, build(seq), time.time()))
                self._db.execute("UPDATE counters SET value = value + 1 WHERE name = 'next_seq'")
                self._drop_oldest_beyond_capacity()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return int(seq)

    def _drop_oldest_beyond_capacity(self) -> None:
        (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        excess = count - self.max_messages
        if excess > 0:
            self._db.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)", (excess,)
            )
            self._db.execute("UPDATE counters SET value = value + ? WHERE name = 'dropped'", (excess,))

    def peek(self, *, after: int = -1, limit: int = 100) -> list[tuple[int, bytes]]:
        """The oldest waiting messages with a sequence number above ``after``, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [(int(seq), bytes(payload)) for seq, payload in rows]

    def remove(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        with self._lock:
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(count)

    @property
    def dropped(self) -> int:
        """Messages discarded, oldest first, because the outbox was full."""
        with self._lock:
            (value,) = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return int(value)

    @property
    def next_seq(self) -> int:
        with self._lock:
            (value,) = self._db.execute("SELECT value FROM counters WHERE name = 'next_seq'").fetchone()
        return int(value)

    def close(self) -> None:
        with self._lock:
            self._db.close()
