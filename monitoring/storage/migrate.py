"""Schema migrations with Alembic, run from code (``monitoring migrate``) and by the tests."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

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


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``."""
    # Alembic's env runs its own event loop, so it goes on a worker thread.
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def downgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)


class SchemaOutOfDateError(RuntimeError):
    """The database schema is not at the revision this code expects."""


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
