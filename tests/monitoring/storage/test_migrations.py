from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from monitoring.storage import migrate
from monitoring.storage.models import Base

pytestmark = pytest.mark.integration

TABLES = {
    "sites",
    "patients",
    "care_plan_thresholds",
    "devices",
    "readings",
    "readings_default",
    "dead_letters",
    "alerts",
    "alert_events",
}


async def _inspect(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            names: list[str] = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            return set(names)
    finally:
        await engine.dispose()


async def test_migrations_build_the_schema_from_empty_and_tear_it_down(empty_database_url: str) -> None:
    await migrate.upgrade(empty_database_url)
    tables = await _inspect(empty_database_url)
    assert tables >= TABLES
    month = datetime.now(UTC).strftime("readings_%Y_%m")
    assert month in tables, "the current month's partition exists"
    await migrate.require_head(empty_database_url)

    await migrate.downgrade(empty_database_url, "base")
    assert await _inspect(empty_database_url) <= {"alembic_version"}
    with pytest.raises(migrate.SchemaOutOfDateError, match="monitoring migrate"):
        await migrate.require_head(empty_database_url)
    await migrate.upgrade(empty_database_url)
    assert await _inspect(empty_database_url) >= TABLES


def _partitions_only(name: str | None, type_: str, *_: object) -> bool:
    # Monthly partitions are made by the partition function, not declared as models.
    return not (type_ == "table" and name is not None and name.startswith("readings_"))


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"include_name": _partitions_only, "compare_server_default": False}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_models_match_what_the_migrations_build(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == []


async def test_partitions_are_created_ahead_and_absorb_default_rows(database_url: str) -> None:
    engine = create_async_engine(database_url)
    insert = text(
        "INSERT INTO readings (device_id, series, measured_at, patient_id, value, seq, received_at) "
        "VALUES (gen_random_uuid(), 1, :at, gen_random_uuid(), 70, 1, now())"
    )
    where = text("SELECT tableoid::regclass::text FROM readings")
    try:
        async with engine.begin() as connection:
            created = await connection.scalar(
                text("SELECT ensure_reading_partitions(now(), now() + interval '1 month')")
            )
            assert created == 0, "the migration already made the coming months"
            # A reading beyond the partitions lands in the default partition...
            await connection.execute(insert, {"at": datetime(2030, 6, 15, tzinfo=UTC)})
            assert await connection.scalar(where) == "readings_default"
            # ...and moves into its month once that partition is made.
            made = await connection.scalar(
                text("SELECT ensure_reading_partitions('2030-06-01Z', '2030-07-01Z')")
            )
            assert made == 1
            assert await connection.scalar(where) == "readings_2030_06"
    finally:
        await engine.dispose()
