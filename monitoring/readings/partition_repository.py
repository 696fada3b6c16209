"""Upkeep of the monthly partitions of the readings table."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Partitions exist this far ahead, so a month boundary never lands readings in the default partition.
MONTHS_AHEAD = 3


async def ensure_partitions(*, session: AsyncSession, now: datetime) -> int:
    """Create missing monthly partitions around ``now``; return how many were created."""
    created = await session.scalar(
        text("SELECT ensure_reading_partitions(:start, :end)"),
        {"start": now - timedelta(days=31), "end": now + timedelta(days=31 * MONTHS_AHEAD)},
    )
    return int(created or 0)
