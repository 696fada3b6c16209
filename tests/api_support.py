"""The care-team API over an in-process transport, wired to a test database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal
from uuid import UUID

import httpx
import uvicorn

from monitoring.access.principal import Role
from monitoring.access.tokens import issue_token
from monitoring.api.app import create_app
from monitoring.api.probes import ComponentStatus, Probes
from monitoring.config import Settings
from monitoring.embedded.broker import free_port
from monitoring.storage.db import Database
from tests import factories


def database_probe(database: Database) -> Probes:
    async def probe() -> ComponentStatus:
        try:
            await database.ping()
        except OSError as error:
            return ComponentStatus(name="database", ok=False, detail=str(error))
        return ComponentStatus(name="database", ok=True)

    return [probe]


SETTINGS = Settings(environment="test", api={"secret_key": "x" * 40})


@asynccontextmanager
async def api_client(
    database: Database,
    probes: Probes | None = None,
    *,
    as_user: UUID | None | Literal["admin"] = "admin",
    settings: Settings = SETTINGS,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API signed in as ``as_user``: by default a new admin of the test site; None: nobody."""
    app = create_app(
        settings=settings,
        database=database,
        probes=database_probe(database) if probes is None else probes,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        if as_user is not None:
            who = await factories.user(database, Role.ADMIN) if as_user == "admin" else as_user
            client.headers["Authorization"] = f"Bearer {token_for(who)}"
        yield client


def token_for(user_id: UUID) -> str:
    return issue_token(user_id=user_id, role="?", settings=SETTINGS.api)


@asynccontextmanager
async def serving(database: Database) -> AsyncIterator[str]:
    """The API served by uvicorn on a free loopback port (for WebSockets and browsers); yields host:port."""
    port = free_port()
    app = create_app(settings=SETTINGS, database=database, probes=database_probe(database))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(100):
            if server.started:
                break
            await asyncio.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        await app.state.alert_hub.close()
