"""The database roles compose creates (config/postgres/roles.sql), made on the local PostgreSQL.

The same psql script the postgres image runs on its first start, then
`monitoring migrate` as compose runs it (owner URL and runtime URL): the
service's role ends up with rows only, and the service starts with it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from monitoring.storage import migrate
from tests.services import DATABASE_URL, require_postgres

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _psql(*args: str) -> None:
    parts = urlsplit(DATABASE_URL.replace("+asyncpg", ""))
    command = ["psql", "-X", "-q", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    subprocess.run([*command, "-U", parts.username or "postgres", "-d", "postgres", *args], check=True)


def _url(role: str, database: str) -> str:
    parts = urlsplit(DATABASE_URL)
    return parts._replace(
        netloc=f"{role}:unused@{parts.hostname}:{parts.port or 5432}", path=f"/{database}"
    ).geturl()


async def test_the_compose_roles_give_the_service_rows_only() -> None:
    require_postgres()
    if shutil.which("psql") is None:
        pytest.fail("psql is needed to run the roles script", pytrace=False)
    tag = uuid.uuid4().hex[:8]
    owner, app, database = f"rpm_owner_{tag}", f"rpm_app_{tag}", f"rpm_compose_{tag}"
    script = str(ROOT / "config" / "postgres" / "roles.sql")
    variables = ["-v", f"owner={owner}", "-v", "owner_password=o-secret", "-v", f"app={app}"]
    variables += ["-v", "app_password=a-secret", "-v", f"database={database}", "-f", script]
    try:
        await asyncio.to_thread(_psql, *variables)
        await asyncio.to_thread(_psql, *variables)  # running it again changes nothing and does not fail
        env = {
            **os.environ,
            "RPM_DATABASE__URL": _url(app, database),
            "RPM_DATABASE__OWNER_URL": _url(owner, database),
        }
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "monitoring_cli", "migrate"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert await migrate.check_runtime_role(_url(app, database), strict=True) == []
        engine = create_async_engine(_url(app, database))
        try:
            async with engine.connect() as connection:
                assert await connection.scalar(text("SELECT count(*) FROM patients")) == 0
                with pytest.raises(DBAPIError, match="permission denied"):
                    await connection.execute(text("TRUNCATE audit_log"))
        finally:
            await engine.dispose()
    finally:
        await asyncio.to_thread(_psql, "-c", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await asyncio.to_thread(_psql, "-c", f'DROP ROLE IF EXISTS "{app}"')
        await asyncio.to_thread(_psql, "-c", f'DROP ROLE IF EXISTS "{owner}"')
