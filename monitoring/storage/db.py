"""Engine, sessions and the unit of work: the one place that commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from monitoring.config import DatabaseSettings


class Database:
    """Owns the connection pool; hands out sessions and units of work."""

    def __init__(self, url: str, settings: DatabaseSettings | None = None) -> None:
        settings = settings or DatabaseSettings()
        self.url = url
        options = {
            "hide_parameters": True,  # statements may be logged (DEBUG), their values (PHI, secrets) never
            "connect_args": {
                "server_settings": {
                    "application_name": "rpm-monitoring",
                    "statement_timeout": str(settings.statement_timeout_ms),
                }
            },
        }
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=settings.pool_size, max_overflow=settings.pool_size, pool_pre_ping=True, **options
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Ingestion's hot path: one statement per batch, committed on its own. No BEGIN, COMMIT or
        # liveness ping: one round trip per batch where there were seven, each a system call or
        # two on both sides. A connection that died meanwhile fails the statement; its caller retries
        # (monitoring.worker), and the pool replaces the connection. Connects on first use only.
        self._direct: AsyncEngine = create_async_engine(
            url, pool_size=2, max_overflow=2, isolation_level="AUTOCOMMIT", **options
        )
        self._direct_sessions = async_sessionmaker(self._direct, expire_on_commit=False)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def single_statement(self) -> AsyncIterator[AsyncSession]:
        """A session for one statement that commits by itself (several would each commit alone)."""
        async with self._direct_sessions() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self._direct.dispose()
