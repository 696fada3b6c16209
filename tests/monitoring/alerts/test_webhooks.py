"""Webhooks: queued by the database with each alert change, signed, retried with backoff, given up
after the last attempt, and not queued once disabled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from monitoring.alerts.webhooks import (
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    Outcome,
    WebhookSender,
    deliver_due,
    sign,
)
from monitoring.storage.db import Database
from monitoring.storage.models import WebhookDelivery
from tests.api_support import DNS, PUBLIC_ADDRESS, api_client
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.integration


class Receiver:
    """An HTTP endpoint that answers with the statuses it is given, in turn, and keeps what it got."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0])


async def _send(database: Database, receiver: Receiver, now: datetime) -> Outcome:
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        sender = WebhookSender(client, resolve=DNS)
        async with database.unit_of_work() as session:
            return await deliver_due(session=session, sender=sender, now=now)


async def _comment(database: Database, user: UUID, alert_path: str) -> None:
    async with api_client(database, as_user=user) as client:
        assert (await client.post(f"{alert_path}/comments", json={"text": "called"})).status_code == 200


async def test_a_change_is_signed_retried_and_delivered_once(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["admin"]) as admin:
        hook = (await admin.post("/api/v1/webhooks", json={"url": "https://care.example/hooks/rpm"})).json()
        listed = (await admin.get("/api/v1/webhooks")).json()
        (alert,) = (await admin.get("/api/v1/alerts", params={"patient_id": str(world.patient)})).json()[
            "items"
        ]
    await _comment(database, world.users["coordinator"], f"/api/v1/alerts/{alert['id']}")
    receiver, now = Receiver(500, 200), datetime.now(UTC)
    first = await _send(database, receiver, now)
    early = await _send(database, receiver, now + timedelta(seconds=10))
    second = await _send(database, receiver, now + timedelta(seconds=31))
    after = await _send(database, receiver, now + timedelta(hours=1))
    assert (first, early, second, after) == (Outcome(retrying=1), Outcome(), Outcome(delivered=1), Outcome())
    assert "secret" not in listed[0]
    request = receiver.requests[-1]
    body = json.loads(request.content)
    assert (body["event"], body["alert"]["id"]) == ("comment", alert["id"])
    timestamp = int(request.headers[SIGNATURE_HEADER].split(",")[0][2:])
    assert request.headers[SIGNATURE_HEADER] == sign(hook["secret"], timestamp, request.content)
    # Sent to the address checked just before, under the webhook's own name (Host header, TLS).
    assert str(request.url) == f"https://{PUBLIC_ADDRESS}/hooks/rpm"
    assert (request.headers["host"], request.extensions["sni_hostname"]) == ("care.example", "care.example")


async def test_an_endpoint_that_keeps_failing_is_given_up_and_a_disabled_one_gets_nothing(
    database: Database,
) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["admin"]) as admin:
        hook = (await admin.post("/api/v1/webhooks", json={"url": "https://down.example/"})).json()
        (alert,) = (await admin.get("/api/v1/alerts", params={"patient_id": str(world.patient)})).json()[
            "items"
        ]
    path = f"/api/v1/alerts/{alert['id']}"
    await _comment(database, world.users["coordinator"], path)
    receiver, now = Receiver(503), datetime.now(UTC)
    outcomes = [
        await _send(database, receiver, now + timedelta(days=attempt)) for attempt in range(MAX_ATTEMPTS + 1)
    ]
    assert outcomes[: MAX_ATTEMPTS - 1] == [Outcome(retrying=1)] * (MAX_ATTEMPTS - 1)
    assert outcomes[MAX_ATTEMPTS - 1 :] == [Outcome(failed=1), Outcome()]
    async with database.sessions() as session:
        (delivery,) = (await session.scalars(select(WebhookDelivery))).all()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", MAX_ATTEMPTS, "HTTP 503")
    async with api_client(database, as_user=world.users["admin"]) as admin:
        assert (await admin.post(f"/api/v1/webhooks/{hook['id']}/disable")).json()["active"] is False
    await _comment(database, world.users["coordinator"], path)
    async with database.sessions() as session:
        assert len((await session.scalars(select(WebhookDelivery))).all()) == 1
