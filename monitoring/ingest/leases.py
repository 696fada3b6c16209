"""Workers share a fixed number of patient partitions through leases in PostgreSQL, and rebalance.

Every worker beats a heartbeat and renews its leases every quarter of a lease.
The live workers, sorted by name, split the partitions evenly (the first
``count % workers`` take one more); a worker holding more than its share gives
the rest back once their detector state is saved, and one holding less claims
partitions nobody holds or whose lease ran out. So:

- a worker that joins gets its share within two rounds, handed over cleanly;
- a worker that stops releases everything at once;
- a worker that dies (kill -9) loses its leases when they expire, and the
  others claim them in the next round; its patients' state comes from their
  last checkpoint, and what it had stored but not evaluated is replayed.

A lease that expired before its holder renewed it is *lost*: another worker
may already evaluate those patients, so the holder drops them without saving
anything (a stale checkpoint would overwrite the new holder's).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Set
from datetime import timedelta
from typing import Protocol

from monitoring.ingest import lease_repository as leases
from monitoring.storage.db import Database

log = logging.getLogger(__name__)


class Handover(Protocol):
    """What a worker does when partitions come to it or leave it."""

    async def acquire(self, partitions: Set[int]) -> None: ...

    async def release(self, partitions: Set[int]) -> None: ...

    async def drop(self, partitions: Set[int]) -> None: ...

    async def leave(self, partitions: Set[int]) -> None: ...


def worker_name() -> str:
    """Unique per process, readable in the lease table: host, pid and a random suffix."""
    return f"{socket.gethostname()[:60]}-{os.getpid()}-{secrets.token_hex(3)}"


def fair_share(workers: list[str], me: str, partitions: int) -> int:
    """How many of ``partitions`` worker ``me`` should hold among the live ``workers``."""
    if me not in workers:
        workers = sorted([*workers, me])
    rank = workers.index(me)
    base, extra = divmod(partitions, len(workers))
    return base + (1 if rank < extra else 0)


class LeaseKeeper:
    def __init__(
        self, database: Database, handover: Handover, *, partitions: int, lease_s: float, worker: str
    ) -> None:
        self.database = database
        self.handover = handover
        self.partitions = partitions
        self.ttl = timedelta(seconds=lease_s)
        self.worker = worker
        self.owned: set[int] = set()
        self.workers: list[str] = []
        self.rounds = 0
        # Guards ``owned`` against the renewal task between a database answer and its use;
        # never held across a hand-over, which may take seconds.
        self._lock = asyncio.Lock()
        self._renewed_at = 0.0  # monotonic time of the last renewal, by a round or the renewal task

    @property
    def every_s(self) -> float:
        return self.ttl.total_seconds() / 4

    async def join(self) -> None:
        """Register, then take a first share (blocking: the worker is ready once it has one)."""
        async with self.database.unit_of_work() as session:
            await leases.ensure_partitions(session=session, count=self.partitions)
        await self.round()

    async def run(self) -> None:
        """Renew and rebalance until cancelled; renewal runs apart, so a long hand-over cannot starve it."""
        renewing = asyncio.create_task(self._renew_forever(), name="lease-renewal")
        try:
            while True:
                await asyncio.sleep(self.every_s)
                try:
                    await self.round()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database may be down: keep trying, leases may be lost meanwhile
                    log.exception("lease round failed")
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)

    async def round(self) -> None:
        """One rebalancing step: note who is alive, hand back extras, claim what is missing."""
        async with self._lock:
            async with self.database.unit_of_work() as session:
                self.workers = await leases.beat(session=session, worker=self.worker, ttl=self.ttl)
                held = await leases.renew(
                    session=session, worker=self.worker, partitions=self.owned, ttl=self.ttl
                )
            self._renewed_at = time.monotonic()
            lost = self._take_lost(held)
        await self._drop(lost)
        target = fair_share(self.workers, self.worker, self.partitions)
        if len(self.owned) > target:
            extra = set(sorted(self.owned)[target:])
            await self.handover.release(extra)
            async with self.database.unit_of_work() as session:
                await leases.release(session=session, worker=self.worker, partitions=extra)
            self.owned -= extra
            log.info("released partitions %s (%d workers live)", sorted(extra), len(self.workers))
        elif len(self.owned) < target:
            async with self._lock:
                async with self.database.unit_of_work() as session:
                    got = await leases.claim(
                        session=session,
                        worker=self.worker,
                        want=target - len(self.owned),
                        ttl=self.ttl,
                        below=self.partitions,
                    )
                self.owned |= got
            if got:
                try:
                    await self.handover.acquire(got)
                except BaseException:
                    # Not taken over after all: give them back, so another worker can.
                    self.owned -= got
                    await self._release_quietly(got)
                    raise
                log.info("acquired partitions %s (%d workers live)", sorted(got), len(self.workers))
        self.rounds += 1

    async def leave(self) -> None:
        """A clean stop: save and release every partition, then remove the heartbeat."""
        if self.owned:
            await self.handover.leave(set(self.owned))
        async with self.database.unit_of_work() as session:
            await leases.release(session=session, worker=self.worker, partitions=self.owned)
            await leases.leave(session=session, worker=self.worker)
        self.owned = set()

    async def _renew_forever(self) -> None:
        """Renew between rounds: only when no round has renewed for a while (a hand-over is long)."""
        while True:
            await asyncio.sleep(self.every_s / 2)
            if time.monotonic() - self._renewed_at < self.every_s:
                continue
            try:
                async with self._lock:
                    async with self.database.unit_of_work() as session:
                        held = await leases.renew(
                            session=session, worker=self.worker, partitions=self.owned, ttl=self.ttl
                        )
                    self._renewed_at = time.monotonic()
                    lost = self._take_lost(held)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("could not renew partition leases: %s", error)
                continue
            await self._drop(lost)

    def _take_lost(self, held: set[int]) -> set[int]:
        lost = self.owned - held
        self.owned -= lost
        return lost

    async def _drop(self, lost: set[int]) -> None:
        if lost:
            log.error("lost partitions %s (lease expired before renewal); dropping them", sorted(lost))
            await self.handover.drop(lost)

    async def _release_quietly(self, partitions: set[int]) -> None:
        try:
            async with self.database.unit_of_work() as session:
                await leases.release(session=session, worker=self.worker, partitions=partitions)
        except Exception:
            log.exception("could not release partitions %s; their leases will expire", sorted(partitions))
