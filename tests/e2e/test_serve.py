"""`monitoring serve` wiring against the real PostgreSQL and Mosquitto."""

import asyncio

import httpx
import pytest

from monitoring.config import Settings
from monitoring.embedded.broker import free_port
from monitoring.runtime import Role, running
from monitoring.storage.migrate import SchemaOutOfDateError
from tests.e2e.support import Broker, eventually
from tests.services import MQTT_URL

pytestmark = pytest.mark.e2e


def settings_for(database_url: str, broker: Broker, port: int) -> Settings:
    return Settings(
        database={"url": database_url},
        mqtt={
            "url": MQTT_URL,
            "client_id": broker.client_id,
            "topic_root": broker.topic_root,
            "session_expiry_s": 60,
        },
        api={"port": port},
        detection={"replay_hours": 1},
    )


async def test_serve_reports_ready_when_every_component_is(database_url: str, broker: Broker) -> None:
    port = free_port()
    roles = {Role.API, Role.INGEST, Role.SCHEDULER}
    async with (
        running(settings_for(database_url, broker, port), roles, migrate_schema=False) as runtime,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):

        async def ready() -> bool:
            try:
                return (await client.get("/ready")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, what="/ready to answer 200")
        body = (await client.get("/ready")).json()
        assert {c["name"] for c in body["components"]} == {"database", "startup", "broker", "ingest"}
        assert runtime.scheduler is not None
        scheduler = runtime.scheduler
        await eventually(lambda: scheduler.runs["reading-partitions"] >= 1, what="the partition job")
    assert runtime.api_server is not None
    assert runtime.api_server.should_exit


async def test_serve_refuses_a_schema_that_is_not_migrated(empty_database_url: str, broker: Broker) -> None:
    settings = settings_for(empty_database_url, broker, free_port())
    with pytest.raises(SchemaOutOfDateError, match="monitoring migrate"):
        async with running(settings, {Role.API}, migrate_schema=False):
            await asyncio.sleep(0)
