"""Schema migrations with Alembic, run from code (``monitoring migrate``) and by the tests."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

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
