"""All SQL that stores readings: ingestion's write path.

Writes go through one multi-row ``INSERT ... SELECT unnest(...)`` per batch:
one round trip, idempotent on the reading's identity (device, series, measured
time), and telling which rows were new, so redelivered messages never reach
the detectors twice. The devices that sent them are marked seen by the same
statement.

A large batch goes through ``COPY`` first (``copy_new``): it stores all of its
rows or, if one is stored already (a redelivery), none of them, at about half
the server's work of the idempotent insert; the caller then falls back to
``insert_new``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import UniqueViolationError
from msgspec.structs import astuple
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.readings.records import StandardReading

_COLUMNS = (
    "device_id, series, measured_at, patient_id, value, seq, received_at, original_value, original_unit, sqi"
)
# Moves each sending device's last-seen time and highest sequence forward.
_TOUCH_SQL = (
    "UPDATE devices AS d SET last_seen_at = GREATEST(d.last_seen_at, u.seen_at), "
    "last_seq = GREATEST(d.last_seq, u.seq) FROM unnest(CAST(:seen_id AS uuid[]), "
    "CAST(:seen_at AS timestamptz[]), CAST(:seen_seq AS bigint[])) AS u(id, seen_at, seq) WHERE d.id = u.id"
)
_TOUCH = text(_TOUCH_SQL)
# One statement per batch. When every row is new (the usual case) it answers NULL;
# otherwise the 1-based positions of the rows it stored (the first of any repeated
# identity), so the client never receives the rows themselves back. The same statement
# moves each sending device's last-seen time and highest sequence forward.
_INSERT = text(
    f"WITH batch AS (SELECT * FROM unnest(CAST(:device_id AS uuid[]), CAST(:series AS smallint[]), "
    "CAST(:measured_at AS timestamptz[]), CAST(:patient_id AS uuid[]), CAST(:value AS float8[]), "
    "CAST(:seq AS bigint[]), CAST(:received_at AS timestamptz[]), CAST(:original_value AS float8[]), "
    "CAST(:original_unit AS varchar[]), CAST(:sqi AS float8[])) "
    f"WITH ORDINALITY AS b({_COLUMNS}, position)), "
    f"stored AS (INSERT INTO readings ({_COLUMNS}) SELECT {_COLUMNS} FROM batch "
    "ON CONFLICT DO NOTHING RETURNING device_id, series, measured_at), "
    f"touched AS ({_TOUCH_SQL}) "
    "SELECT CASE WHEN (SELECT count(*) FROM stored) = cardinality(CAST(:device_id AS uuid[])) THEN NULL "
    "ELSE ARRAY(SELECT min(b.position) FROM batch b JOIN stored USING (device_id, series, measured_at) "
    "GROUP BY device_id, series, measured_at ORDER BY 1) END"
)


async def insert_new(
    *,
    session: AsyncSession,
    rows: Sequence[StandardReading],
    seen: Mapping[UUID, tuple[datetime, int]] | None = None,
) -> list[StandardReading]:
    """Store the rows not stored before; return exactly those (a repeat within ``rows`` counts once).

    ``seen`` (device -> when it was last heard from, its highest message sequence) is
    recorded in the same statement: one round trip for a batch.
    """
    seen = seen or {}
    if not rows and not seen:
        return []
    params = {
        "device_id": [r.device_id for r in rows],
        "series": [int(r.series) for r in rows],
        "measured_at": [r.measured_at for r in rows],
        "patient_id": [r.patient_id for r in rows],
        "value": [r.value for r in rows],
        "seq": [r.seq for r in rows],
        "received_at": [r.received_at for r in rows],
        "original_value": [r.original_value for r in rows],
        "original_unit": [r.original_unit for r in rows],
        "sqi": [r.sqi for r in rows],
        **_seen_params(seen),
    }
    positions: list[int] | None = (await session.execute(_INSERT, params)).scalar_one()
    if positions is None:
        return list(rows)
    return [rows[p - 1] for p in positions]


def _seen_params(seen: Mapping[UUID, tuple[datetime, int]]) -> dict[str, list[Any]]:
    devices = list(seen)
    return {
        "seen_id": devices,
        "seen_at": [seen[d][0] for d in devices],
        "seen_seq": [seen[d][1] for d in devices],
    }


# StandardReading's fields, in its order: a reading goes to COPY as msgspec's tuple of it.
_COPY_COLUMNS = StandardReading.__struct_fields__


async def copy_new(
    *,
    session: AsyncSession,
    rows: Sequence[StandardReading],
    seen: Mapping[UUID, tuple[datetime, int]] | None = None,
) -> bool:
    """Store ``rows``, all of them new, with one ``COPY``; False (nothing stored) if one was not.

    For a session that commits each statement by itself (``Database.single_statement``):
    a ``COPY`` that meets a reading stored before, or the same reading twice, fails as a
    whole, and the caller stores the batch with ``insert_new`` instead. On success the
    devices in ``seen`` are marked seen, as ``insert_new`` does.
    """
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        await driver.copy_records_to_table(
            "readings", records=[astuple(r) for r in rows], columns=_COPY_COLUMNS
        )
    except UniqueViolationError:
        return False
    except Exception as error:
        # SQLAlchemy did not see this statement fail: drop the connection from its pool rather
        # than lend it out again, and say plainly when it was lost (the caller retries on that).
        lost = driver.is_closed()
        await connection.invalidate(error)
        if lost:
            raise ConnectionError("the connection to the database was lost during a COPY") from error
        raise
    except BaseException:  # cancelled part way: the connection is in no state to be reused
        await connection.invalidate()
        raise
    if seen:
        await session.execute(_TOUCH, _seen_params(seen))
    return True
