"""The cluster worker's backlog: bounded by payload bytes, shared between its fetch loops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from monitoring.ingest.backlog import Backlog
from monitoring.ingest.records import Inbound

AT = datetime(2026, 12, 1, tzinfo=UTC)


def entries(partition: int, count: int, size: int) -> list[Inbound]:
    return [
        Inbound(topic=f"t/{partition}", payload=b"x" * size, received_at=AT, partition=partition)
        for _ in range(count)
    ]


async def test_fetch_loops_share_the_room_so_together_they_stay_near_the_bound() -> None:
    backlog = Backlog(most_bytes=100_000)
    for _ in range(30):  # the running mean learns that a fetched message carries 10 kB
        backlog.put(10_000, [])
    # Alone, a loop may ask for the whole room (and one more); one of ten, for a tenth of it.
    assert (backlog.share(1, 50), backlog.share(10, 50), backlog.share(1, 5)) == (11, 2, 5)
    # Ten loops each fetching their share fill the backlog to its bound, not to ten times it.
    for partition in range(10):
        backlog.put(10_000, entries(partition, 2, 5_000))
    assert backlog.bytes == backlog.most_bytes
    assert backlog.share(10, 50) == 0


async def test_a_full_backlog_makes_fetch_loops_wait_until_a_batch_is_taken() -> None:
    backlog = Backlog(most_bytes=1_000)
    backlog.put(1_200, entries(0, 3, 400))
    assert backlog.bytes == 1_200
    assert backlog.share(1, 50) == 0
    waiting = asyncio.create_task(backlog.wait_for_room())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    batch = await backlog.take(max_size=2, flush_s=0)
    assert len(batch) == 2
    assert backlog.bytes == 400
    await asyncio.wait_for(waiting, timeout=1)
    assert backlog.share(1, 50) >= 1


async def test_dropping_partitions_returns_their_entries_and_frees_their_room() -> None:
    backlog = Backlog(most_bytes=10_000)
    backlog.put(300, entries(1, 3, 100))
    backlog.put(200, entries(2, 2, 100))
    dropped = backlog.drop({1})
    assert [inbound.partition for inbound in dropped] == [1, 1, 1]
    assert (len(backlog), backlog.bytes) == (2, 200)
    assert [inbound.partition for inbound in await backlog.take(10, 0)] == [2, 2]
    assert backlog.oldest() is None
