"""The care-team API over an in-process transport, wired to a test database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from monitoring.api.app import create_app
from monitoring.api.probes import ComponentStatus, Probes
from monitoring.config import Settings
from monitoring.storage.db import Database


def database_probe(database: Database) -> Probes:
    async def probe() -> ComponentStatus:
        try:
            await database.ping()
        except OSError as error:
            return ComponentStatus(name="database", ok=False, detail=str(error))
        return ComponentStatus(name="database", ok=True)

    return [probe]


@asynccontextmanager
async def api_client(database: Database, probes: Probes | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings=Settings(environment="test", api={"secret_key": "x" * 40}),
        database=database,
        probes=database_probe(database) if probes is None else probes,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
