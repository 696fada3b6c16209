"""The running service's database role can read and write rows, and nothing more.

The tests connect as the runtime role (``tests.conftest``), exactly as the service
does in production; the schema's owner is a different role. Each statement below
succeeded when the service connected as the owner.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from monitoring.storage import grants, migrate
from monitoring.storage.db import Database
from monitoring.storage.models import Base

pytestmark = pytest.mark.integration

_REFUSED = [
    "TRUNCATE audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "UPDATE audit_log SET username = 'someone else'",
    "DELETE FROM audit_log",
    "DROP TABLE audit_log",
    "TRUNCATE readings",
    "DELETE FROM readings",
    "UPDATE readings SET value = 0",
    "DELETE FROM alert_events",
    "DELETE FROM dead_letters",
    "CREATE TABLE exfiltrate (x int)",
    "ALTER TABLE patients ADD COLUMN x int",
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NEW; END $$",
]


@pytest.mark.parametrize("statement", _REFUSED)
async def test_the_runtime_role_may_not(database: Database, statement: str) -> None:
    async with database.engine.connect() as connection:
        await connection.execute(
            text(
                "INSERT INTO audit_log (username, role, action, resource, status) "
                "VALUES ('someone', 'admin', 'read', 'GET /x', 200)"
            )
        )
        with pytest.raises(DBAPIError, match="permission denied|must be owner"):
            await connection.execute(text(statement))


async def test_the_audit_log_is_append_only_for_its_owner_too(owner_database_url: str) -> None:
    engine = create_async_engine(owner_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO audit_log (username, role, action, resource, status) "
                    "VALUES ('someone', 'admin', 'read', 'GET /x', 200)"
                )
            )
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text("UPDATE audit_log SET username = 'someone else'"))
    finally:
        await engine.dispose()


async def test_every_table_has_a_decision_about_the_runtime_role() -> None:
    modelled = {table.name for table in Base.metadata.sorted_tables} | {"alembic_version"}
    assert modelled == set(grants.RUNTIME_PRIVILEGES)
    assert all("TRUNCATE" not in p and "REFERENCES" not in p for p in grants.RUNTIME_PRIVILEGES.values())
    assert grants.RUNTIME_PRIVILEGES["audit_log"] == ("SELECT", "INSERT")


async def test_the_service_refuses_in_production_to_run_as_the_owner(
    owner_database_url: str, database_url: str
) -> None:
    with pytest.raises(migrate.UnsafeRoleError, match="RPM_DATABASE__OWNER_URL"):
        await migrate.check_runtime_role(owner_database_url, strict=True)
    assert await migrate.check_runtime_role(database_url, strict=True) == []


async def test_the_runtime_role_keeps_readings_partitioned_without_ddl(database: Database) -> None:
    async with database.unit_of_work() as session:
        made = await session.scalar(text("SELECT ensure_reading_partitions('2031-02-01Z', '2031-03-01Z')"))
        assert made == 1
        assert await session.scalar(text("SELECT to_regclass('readings_2031_02') IS NOT NULL"))
