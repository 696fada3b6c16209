"""All SQL of partition leases: worker heartbeats, and claiming, renewing and releasing partitions.

Every time is the database's ``now()``, so workers on machines whose clocks
disagree still agree on who holds what.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.storage.cluster_models import IngestWorkerBeat, PartitionLease

# Heartbeats of workers gone this long are deleted (a crashed worker never removes its own).
_FORGET_AFTER = timedelta(hours=1)


async def ensure_partitions(*, session: AsyncSession, count: int) -> None:
    """One row per partition 0 .. count - 1 (unheld); existing rows are left as they are."""
    rows = [{"partition": p} for p in range(count)]
    await session.execute(insert(PartitionLease).values(rows).on_conflict_do_nothing())


async def beat(*, session: AsyncSession, worker: str, ttl: timedelta) -> list[str]:
    """Record that ``worker`` is alive; return the live workers (seen within ``ttl``), sorted."""
    statement = insert(IngestWorkerBeat).values(worker=worker)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[IngestWorkerBeat.worker], set_={"seen_at": func.now()}
        )
    )
    gone = IngestWorkerBeat.seen_at < func.now() - _FORGET_AFTER
    await session.execute(delete(IngestWorkerBeat).where(gone))
    live = await session.scalars(
        select(IngestWorkerBeat.worker)
        .where(IngestWorkerBeat.seen_at >= func.now() - ttl)
        .order_by(IngestWorkerBeat.worker)
    )
    return list(live)


async def leave(*, session: AsyncSession, worker: str) -> None:
    await session.execute(delete(IngestWorkerBeat).where(IngestWorkerBeat.worker == worker))


async def renew(
    *, session: AsyncSession, worker: str, partitions: Collection[int], ttl: timedelta
) -> set[int]:
    """Extend the unexpired leases ``worker`` holds on ``partitions``; return those it still holds.

    A lease that expired before renewal is not extended: another worker may
    already have claimed it, and its holder must treat it as lost. Only the
    partitions the worker is reading are renewed: one whose hand-over failed
    half way (say, the database went away) must expire, not stay held unread.
    """
    if not partitions:
        return set()
    rows = await session.scalars(
        update(PartitionLease)
        .where(
            PartitionLease.owner == worker,
            PartitionLease.partition.in_(list(partitions)),
            PartitionLease.expires_at > func.now(),
        )
        .values(expires_at=func.now() + ttl)
        .returning(PartitionLease.partition)
    )
    return set(rows)


async def claim(*, session: AsyncSession, worker: str, want: int, ttl: timedelta, below: int) -> set[int]:
    """Take up to ``want`` partitions (of 0 .. below - 1) that nobody holds or whose lease expired."""
    if want <= 0:
        return set()
    free = (
        select(PartitionLease.partition)
        .where(
            PartitionLease.partition < below,
            or_(PartitionLease.owner.is_(None), PartitionLease.expires_at <= func.now()),
        )
        .order_by(PartitionLease.partition)
        .limit(want)
        .with_for_update(skip_locked=True)
    )
    rows = await session.scalars(
        update(PartitionLease)
        .where(PartitionLease.partition.in_(free))
        .values(owner=worker, expires_at=func.now() + ttl, epoch=PartitionLease.epoch + 1)
        .returning(PartitionLease.partition)
    )
    return set(rows)


async def release(*, session: AsyncSession, worker: str, partitions: Collection[int]) -> None:
    """Give partitions up at once (their state is saved): the next claim takes them without waiting."""
    if not partitions:
        return
    await session.execute(
        update(PartitionLease)
        .where(PartitionLease.owner == worker, PartitionLease.partition.in_(list(partitions)))
        .values(owner=None, expires_at=func.now())
    )


async def holders(*, session: AsyncSession) -> dict[int, str | None]:
    """Who holds each partition now (None: nobody, or an expired lease)."""
    rows = await session.execute(
        select(
            PartitionLease.partition,
            PartitionLease.owner,
            PartitionLease.expires_at > func.now(),
        ).order_by(PartitionLease.partition)
    )
    return {partition: owner if live else None for partition, owner, live in rows}
