"""Webhooks go to public addresses only: checked at registration and again at each delivery."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from monitoring.alerts.webhooks import Outcome, WebhookSender, deliver_due
from monitoring.config import Settings
from monitoring.storage.db import Database
from monitoring.storage.models import WebhookDelivery
from tests.api_support import DNS, api_client
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.integration

PRODUCTION = Settings(environment="production", api={"secret_key": "x" * 40})  # the tokens of token_for
INWARD = [
    "https://127.0.0.1/hook",
    "https://127.8.9.10/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.251/hook",
    "https://240.0.0.1/hook",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[ff02::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://loopback.inward.example/hook",
    "https://metadata.inward.example/hook",
    "https://v6.inward.example/hook",
    "https://mixed.inward.example/hook",
]


@pytest.fixture(autouse=True)
def _names() -> None:
    DNS.names.update(
        {
            "loopback.inward.example": [ipaddress.ip_address("127.0.0.1")],
            "metadata.inward.example": [ipaddress.ip_address("169.254.169.254")],
            "v6.inward.example": [ipaddress.ip_address("::1")],
            "mixed.inward.example": [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.1.2.3")],
        }
    )


async def test_inward_urls_are_refused_at_registration(database: Database) -> None:
    world = await build(database)
    async with api_client(database, as_user=world.users["admin"], settings=PRODUCTION) as admin:
        answers = {url: await admin.post("/api/v1/webhooks", json={"url": url}) for url in INWARD}
        public = await admin.post("/api/v1/webhooks", json={"url": "https://care.example/hooks"})
        plain = await admin.post("/api/v1/webhooks", json={"url": "http://care.example/hooks"})
    refused = {url: r.status_code for url, r in answers.items()}
    assert refused == dict.fromkeys(INWARD, 400)
    assert all("public addresses only" in r.json()["error"]["message"] for r in answers.values())
    assert "link-local" in answers["https://169.254.169.254/latest/meta-data/"].json()["error"]["message"]
    assert (public.status_code, plain.status_code) == (201, 400)


async def test_loopback_only_through_the_explicit_setting_and_never_in_production(database: Database) -> None:
    world = await build(database)
    allowing = Settings(
        environment="test", api={"secret_key": "x" * 40}, alerts={"webhook_allow_loopback": True}
    )
    async with api_client(database, as_user=world.users["admin"]) as default:
        refused = await default.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"})
    async with api_client(database, as_user=world.users["admin"], settings=allowing) as admin:
        loopback = await admin.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"})
        still_private = await admin.post("/api/v1/webhooks", json={"url": "http://10.0.0.1/hook"})
    assert (refused.status_code, loopback.status_code, still_private.status_code) == (400, 201, 400)
    with pytest.raises(ValidationError, match="development and tests only"):
        Settings(
            environment="production", api={"secret_key": "p" * 40}, alerts={"webhook_allow_loopback": True}
        )


async def test_a_name_that_later_resolves_inward_is_refused_at_delivery(database: Database) -> None:
    world = await build(database)
    DNS.names["rebind.example"] = [ipaddress.ip_address("93.184.215.14")]
    async with api_client(database, as_user=world.users["admin"], settings=PRODUCTION) as admin:
        assert (
            await admin.post("/api/v1/webhooks", json={"url": "https://rebind.example/in"})
        ).status_code == 201
    async with api_client(database, as_user=world.users["coordinator"]) as coordinator:
        alert = (await coordinator.get("/api/v1/alerts")).json()["items"][0]
        await coordinator.post(f"/api/v1/alerts/{alert['id']}/comments", json={"text": "called"})
    DNS.names["rebind.example"] = [ipaddress.ip_address("127.0.0.1")]  # the name now points inward
    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        async with database.unit_of_work() as session:
            outcome = await deliver_due(
                session=session, sender=WebhookSender(client, resolve=DNS), now=datetime.now(UTC)
            )
    async with database.sessions() as session:
        delivery = (await session.scalars(select(WebhookDelivery))).one()
    assert outcome == Outcome(retrying=1)
    assert sent == []
    assert delivery.last_error is not None
    assert "loopback" in delivery.last_error
