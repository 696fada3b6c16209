"""Shared fixtures: a migrated database per test, the broker, and the app wired to both.

The schema is built by the migrations as its owner (the test server's ``postgres``);
the tests then connect as ``RUNTIME_ROLE``, with exactly the privileges the running
service has in production, so a missing grant fails a test here first.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from monitoring.storage import migrate
from monitoring.storage.db import Database
from tests.services import DATABASE_URL, require_postgres

RUNTIME_ROLE = "rpm_test_runtime"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def as_runtime(url: str) -> str:
    """The same database, signed in as the runtime role (trust authentication on the test server)."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{RUNTIME_ROLE}@{host}{port}"))


async def _admin(sql: str) -> None:
    engine = create_async_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


@asynccontextmanager
async def _scratch_database(prefix: str, template: str | None = None) -> AsyncIterator[str]:
    """A database of its own (a copy of ``template`` if given), dropped afterwards; yields its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    await _admin(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield name
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def template_database() -> AsyncIterator[str]:
    """A database built by running every migration once, with the runtime role's grants; tests clone it."""
    require_postgres()
    await _admin(
        f"DO $$ BEGIN CREATE ROLE {RUNTIME_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    async with _scratch_database("rpm_tpl") as name:
        await migrate.upgrade(_with_database(DATABASE_URL, name), grant_to=RUNTIME_ROLE)
        yield name


@pytest.fixture
async def owner_database_url(template_database: str) -> AsyncIterator[str]:
    """A fresh, fully migrated database of this test's own, signed in as the schema's owner."""
    async with _scratch_database("rpm_t", template_database) as name:
        yield _with_database(DATABASE_URL, name)


@pytest.fixture
def database_url(owner_database_url: str) -> str:
    """The test's database as the running service sees it: signed in as the runtime role."""
    return as_runtime(owner_database_url)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def empty_database_url() -> AsyncIterator[str]:
    """A database with no schema at all, for migration tests."""
    require_postgres()
    async with _scratch_database("rpm_e") as name:
        yield _with_database(DATABASE_URL, name)
