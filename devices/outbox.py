"""A durable store-and-forward outbox: messages wait in a SQLite file until the broker has them.

Each message gets its device's next sequence number when it is stored; the
counter itself is stored too, so a sequence number is never reused, even after
a restart with an empty outbox. Messages leave only when ``remove`` is called
for them, which the client does on the broker's PUBACK.

Several devices may share one file (a home gateway serving a cuff, a scale and
a wearable): each ``Outbox`` is one device's view, and they share one
connection, so a process with hundreds of devices does not run out of file
descriptors.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    device TEXT NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL, stored_at REAL NOT NULL,
    PRIMARY KEY (device, seq)
);
CREATE TABLE IF NOT EXISTS counters (
    device TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (device, name)
);
"""


class _Store:
    """One SQLite file and its connection, shared by the outboxes kept in it."""

    _open: dict[Path, _Store] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.users = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a power cut may lose the last transactions, never corrupt the file.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    @classmethod
    def acquire(cls, path: Path) -> _Store:
        key = path.resolve()
        with cls._registry_lock:
            store = cls._open.get(key)
            if store is None:
                store = cls._open[key] = _Store(key)
            store.users += 1
            return store

    def release(self) -> None:
        with self._registry_lock:
            self.users -= 1
            if self.users == 0:
                del self._open[self.path]
                with self.lock:
                    self.db.close()


class Outbox:
    """One device's queue in an outbox file. Thread-safe."""

    def __init__(self, path: Path | str, *, device: str = "", max_messages: int = 200_000) -> None:
        self.path = Path(path)
        self.device = device
        self.max_messages = max_messages
        self._store = _Store.acquire(self.path)
        self._db = self._store.db
        self._lock = self._store.lock
        self._closed = False
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO counters VALUES (?, ?, 0)", [(device, "next_seq"), (device, "dropped")]
            )

    def append(self, build: Callable[[int], bytes]) -> int:
        """Store the message ``build(seq)`` under the next sequence number; return that number."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (seq,) = self._db.execute(
                    "SELECT value FROM counters WHERE device = ? AND name = 'next_seq'", (self.device,)
                ).fetchone()
                self._db.execute(
                    "INSERT INTO outbox VALUES (?, ?, ?, ?)", (self.device, seq, build(seq), time.time())
                )
                self._db.execute(
                    "UPDATE counters SET value = value + 1 WHERE device = ? AND name = 'next_seq'",
                    (self.device,),
                )
                self._drop_oldest_beyond_capacity()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return int(seq)

    def _drop_oldest_beyond_capacity(self) -> None:
        (count,) = self._db.execute("SELECT count(*) FROM outbox WHERE device = ?", (self.device,)).fetchone()
        excess = count - self.max_messages
        if excess > 0:
            self._db.execute(
                "DELETE FROM outbox WHERE device = ? AND seq IN "
                "(SELECT seq FROM outbox WHERE device = ? ORDER BY seq LIMIT ?)",
                (self.device, self.device, excess),
            )
            self._db.execute(
                "UPDATE counters SET value = value + ? WHERE device = ? AND name = 'dropped'",
                (excess, self.device),
            )

    def peek(self, *, after: int = -1, limit: int = 100) -> list[tuple[int, bytes]]:
        """The oldest waiting messages with a sequence number above ``after``, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, payload FROM outbox WHERE device = ? AND seq > ? ORDER BY seq LIMIT ?",
                (self.device, after, limit),
            ).fetchall()
        return [(int(seq), bytes(payload)) for seq, payload in rows]

    def remove(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        with self._lock:
            self._db.executemany(
                "DELETE FROM outbox WHERE device = ? AND seq = ?", [(self.device, s) for s in seqs]
            )

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT count(*) FROM outbox WHERE device = ?", (self.device,)
            ).fetchone()
        return int(count)

    def _counter(self, name: str) -> int:
        with self._lock:
            (value,) = self._db.execute(
                "SELECT value FROM counters WHERE device = ? AND name = ?", (self.device, name)
            ).fetchone()
        return int(value)

    @property
    def dropped(self) -> int:
        """Messages discarded, oldest first, because the outbox was full."""
        return self._counter("dropped")

    @property
    def next_seq(self) -> int:
        return self._counter("next_seq")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._store.release()
