"""Workers share partitions through leases in PostgreSQL: even shares, clean hand-overs, the dead expire."""

from __future__ import annotations

import asyncio
from collections.abc import Set

import pytest

from monitoring.ingest import lease_repository
from monitoring.ingest.leases import LeaseKeeper, fair_share
from monitoring.storage.db import Database

pytestmark = pytest.mark.integration

PARTITIONS = 8


class Recorder:
    """A hand-over that remembers what it was given and told to give back."""

    def __init__(self) -> None:
        self.held: set[int] = set()
        self.events: list[tuple[str, frozenset[int]]] = []
        self.fail_next_acquire = False

    async def acquire(self, partitions: Set[int]) -> None:
        if self.fail_next_acquire:
            self.fail_next_acquire = False
            raise RuntimeError("the database went away during the hand-over")
        self.held |= partitions
        self.events.append(("acquire", frozenset(partitions)))

    async def release(self, partitions: Set[int]) -> None:
        self.held -= partitions
        self.events.append(("release", frozenset(partitions)))

    async def drop(self, partitions: Set[int]) -> None:
        self.held -= partitions
        self.events.append(("drop", frozenset(partitions)))

    async def leave(self, partitions: Set[int]) -> None:
        self.held -= partitions
        self.events.append(("leave", frozenset(partitions)))


def keeper(database: Database, name: str, lease_s: float = 2.0) -> tuple[LeaseKeeper, Recorder]:
    recorder = Recorder()
    return LeaseKeeper(database, recorder, partitions=PARTITIONS, lease_s=lease_s, worker=name), recorder


async def holders(database: Database) -> dict[int, str | None]:
    async with database.sessions() as session:
        return await lease_repository.holders(session=session)


def test_live_workers_split_partitions_evenly_whoever_asks() -> None:
    workers = ["a", "b", "c"]
    assert [fair_share(workers, w, 8) for w in workers] == [3, 3, 2]
    assert fair_share(["a"], "b", 8) == 4  # not yet seen as live: counted in
    assert sum(fair_share(workers, w, 32) for w in workers) == 32


async def test_a_joining_worker_gets_its_share_and_a_leaving_one_hands_everything_over(
    database: Database,
) -> None:
    first, first_log = keeper(database, "worker-a")
    await first.join()
    assert first.owned == first_log.held == set(range(PARTITIONS))

    second, second_log = keeper(database, "worker-b")
    await second.join()  # nothing free yet: the first holds everything
    assert second.owned == set()
    await first.round()  # sees two live workers: gives half back, state saved
    assert first_log.events[-1] == ("release", frozenset({4, 5, 6, 7}))
    await second.round()
    assert second.owned == second_log.held == {4, 5, 6, 7}
    assert set((await holders(database)).values()) == {"worker-a", "worker-b"}

    await first.leave()
    assert first_log.events[-1] == ("leave", frozenset({0, 1, 2, 3}))
    await second.round()
    assert second.owned == set(range(PARTITIONS))  # at once: released leases need no expiry
    assert set((await holders(database)).values()) == {"worker-b"}


async def test_a_dead_workers_partitions_move_once_its_leases_expire(database: Database) -> None:
    dead, _ = keeper(database, "worker-dead", lease_s=2.0)
    await dead.join()
    survivor, survivor_log = keeper(database, "worker-live", lease_s=2.0)
    await survivor.join()
    assert survivor.owned == set()
    # worker-dead stops renewing (kill -9); after the lease, its heartbeat and leases lapse.
    await asyncio.sleep(2.2)
    await survivor.round()
    assert survivor.owned == survivor_log.held == set(range(PARTITIONS))
    assert set((await holders(database)).values()) == {"worker-live"}


async def test_a_worker_that_missed_its_renewal_drops_what_it_lost_without_saving(database: Database) -> None:
    slow, slow_log = keeper(database, "worker-slow", lease_s=2.0)
    await slow.join()
    await asyncio.sleep(2.2)  # paused past its lease (a long GC, a frozen VM)
    other, _ = keeper(database, "worker-other", lease_s=2.0)
    await other.join()
    assert other.owned == set(range(PARTITIONS))
    await slow.round()
    assert ("drop", frozenset(range(PARTITIONS))) in slow_log.events
    assert not any(kind == "release" for kind, _ in slow_log.events)  # a stale checkpoint would win
    assert slow.owned == set()


async def test_a_hand_over_that_fails_half_way_lets_the_lease_expire_instead_of_holding_it_unread(
    database: Database,
) -> None:
    worker, log = keeper(database, "worker-unlucky", lease_s=2.0)
    async with database.unit_of_work() as session:
        await lease_repository.ensure_partitions(session=session, count=PARTITIONS)
    log.fail_next_acquire = True
    with pytest.raises(RuntimeError, match="went away"):
        await worker.round()
    assert worker.owned == set()
    assert set((await holders(database)).values()) == {None}  # given back at once
    await worker.round()  # the next round takes them properly
    assert worker.owned == log.held == set(range(PARTITIONS))
