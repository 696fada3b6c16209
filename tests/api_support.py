"""The care-team API over an in-process transport, wired to a test database."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal
from uuid import UUID

import httpx

from monitoring.access.principal import Role
from monitoring.access.tokens import issue_token
from monitoring.alerts.destinations import Address, UnsafeDestinationError
from monitoring.api.app import create_app
from monitoring.api.probes import ComponentStatus, Probes
from monitoring.api.server import ApiServer, server_config
from monitoring.config import Settings
from monitoring.embedded.broker import free_port
from monitoring.nightscout.gateway import ReadingsGateway
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
PUBLIC_ADDRESS = ipaddress.ip_address("93.184.215.14")


class FakeDns:
    """This machine has no DNS: names under example domains resolve to a public address, or as told."""

    def __init__(self) -> None:
        self.names: dict[str, list[Address]] = {}

    async def __call__(self, host: str, port: int) -> list[Address]:
        if host in self.names:
            return self.names[host]
        if host.endswith((".example", ".example.org", ".example.com")):
            return [PUBLIC_ADDRESS]
        raise UnsafeDestinationError(f"{host} does not resolve")


DNS = FakeDns()


@asynccontextmanager
async def api_client(
    database: Database,
    probes: Probes | None = None,
    *,
    as_user: UUID | None | Literal["admin"] = "admin",
    settings: Settings = SETTINGS,
    gateway: ReadingsGateway | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API signed in as ``as_user``: by default a new admin of the test site; None: nobody."""
    app = create_app(
        settings=settings,
        database=database,
        probes=database_probe(database) if probes is None else probes,
        resolver=DNS,
        gateway=gateway,
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
async def serving(
    database: Database,
    *,
    settings: Settings = SETTINGS,
    recheck_s: float | None = None,
    gateway: ReadingsGateway | None = None,
) -> AsyncIterator[str]:
    """The API served as the service serves it, on a free loopback port; yields host:port."""
    port = free_port()
    app = create_app(
        settings=settings,
        database=database,
        probes=database_probe(database),
        resolver=DNS,
        gateway=gateway,
    )
    if recheck_s is not None:
        app.state.alert_hub.recheck_s = recheck_s
    server = ApiServer(server_config(app, settings, port=port, host="127.0.0.1"))
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
