"""Schema migrations with Alembic, run from code (``monitoring migrate``) and by the tests."""

from __future__ import annotations

import asyncio
import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from monitoring.storage import grants

log = logging.getLogger(__name__)

SCRIPT_LOCATION = "monitoring.storage:migrations"
# Date-named revision files, oldest first in a directory listing.
FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("timezone", "UTC")
    config.attributes["database_url"] = url
    return config


def runtime_role(owner_url: str, runtime_url: str) -> str | None:
    """The role the service runs as, when it is not the owner that migrates."""
    owner, runtime = make_url(owner_url).username, make_url(runtime_url).username
    return runtime if runtime and runtime != owner else None


async def upgrade(url: str, revision: str = "head", *, grant_to: str | None = None) -> None:
    """Bring the database at ``url`` (its owner's) to ``revision``; then grant ``grant_to`` its rights."""
    # Alembic's env runs its own event loop, so it goes on a worker thread.
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)
    if grant_to is not None:
        await grant_runtime(url, grant_to)


async def grant_runtime(owner_url: str, role: str) -> None:
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as connection:
            await grants.grant_runtime(connection, role)
    finally:
        await engine.dispose()
    log.info("granted the runtime privileges to database role %s", role)


async def check_runtime_role(url: str, *, strict: bool) -> list[str]:
    """Refuse (``strict``) or warn about a runtime role that could alter the schema or the audit log."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            problems = await grants.runtime_role_problems(connection)
    finally:
        await engine.dispose()
    if problems and strict:
        raise UnsafeRoleError(
            "the service must not connect as the schema's owner: "
            + "; ".join(problems)
            + ". Set RPM_DATABASE__URL to the runtime role and RPM_DATABASE__OWNER_URL to the owner "
            "(docs/security.md)"
        )
    for problem in problems:
        log.warning("database: %s; in production the service refuses to start like this", problem)
    return problems


async def downgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)


class SchemaOutOfDateError(RuntimeError):
    """The database schema is not at the revision this code expects."""


class UnsafeRoleError(RuntimeError):
    """The service was configured to connect as a role that can change the schema or the audit log."""


async def require_head(url: str) -> None:
    """Refuse to run against a schema that ``monitoring migrate`` has not brought up to date."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()
    if current != head:
        raise SchemaOutOfDateError(
            f"database schema is at {current or 'nothing'}, this code needs {head}: "
            "run `monitoring migrate` first"
        )
