"""A change is committed before its answer leaves: a caller that got 200 finds it in its next
request, from any connection (FastAPI's default would end the request's unit of work only after
the response was sent, and a failed commit would then follow a success)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import pytest
from sqlalchemy import func, select

from monitoring.api.app import create_app
from monitoring.storage.db import Database
from monitoring.storage.models import AlertEvent
from tests.api_support import SETTINGS, api_client, database_probe, token_for
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.integration


async def test_the_change_is_in_the_database_when_the_answer_starts(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["coordinator"]) as client:
        (alert,) = (await client.get("/api/v1/alerts", params={"patient_id": str(world.patient)})).json()[
            "items"
        ]
    app = create_app(settings=SETTINGS, database=database, probes=database_probe(database))
    body = json.dumps({"text": "rang the patient"}).encode()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1/alerts/{alert['id']}/comments",
        "raw_path": f"/api/v1/alerts/{alert['id']}/comments".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {token_for(world.users['coordinator'])}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent = False
    seen_when_answered: list[tuple[int, int]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            async with database.unit_of_work() as other:  # another connection, at that instant
                comments = await other.scalar(
                    select(func.count())
                    .select_from(AlertEvent)
                    .where(AlertEvent.alert_id == alert["id"], AlertEvent.kind == "comment")
                )
            seen_when_answered.append((message["status"], int(comments or 0)))

    await app(scope, receive, send)
    assert seen_when_answered == [(200, 1)]
