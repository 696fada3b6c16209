"""FHIR Subscriptions (R4 Subscriptions Backport) end to end: an administrator subscribes a real
receiving server on loopback to alert changes of one patient; it gets the handshake (retried
after a refusal), a signed event notification carrying the Flag, heartbeats while nothing
happens, and nothing once the subscription is deleted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.parameters import Parameters

from monitoring.alerts.webhooks import SIGNATURE_HEADER, Outcome, WebhookSender, deliver_due, sign
from monitoring.embedded.broker import free_port
from monitoring.storage.db import Database
from tests.api_support import SETTINGS, api_client
from tests.monitoring.api.access_world import World, build

pytestmark = pytest.mark.integration
LOOPBACK_OK = SETTINGS.model_copy(
    update={"alerts": SETTINGS.alerts.model_copy(update={"webhook_allow_loopback": True})}
)
FHIR = "/api/v1/fhir"
TOPIC = f"http://testserver{FHIR}/SubscriptionTopic/alert-changes"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"


class Receiver:
    """A real HTTP server on loopback: answers the statuses it is given, in turn; keeps requests."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.got: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0])


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/notify", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/notify"
    finally:
        await runner.cleanup()


async def _send(database: Database, now: datetime) -> Outcome:
    async with httpx.AsyncClient(trust_env=False) as client:
        sender = WebhookSender(client, allow_loopback=True, require_https=False)
        async with database.unit_of_work() as session:
            return await deliver_due(session=session, sender=sender, now=now)


def _subscription(endpoint: str, world: World) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "EHR inbox",
        "criteria": TOPIC,
        "_criteria": {
            "extension": [
                {
                    "url": f"{BACKPORT}/backport-filter-criteria",
                    "valueString": f"Flag?patient={world.patient}",
                }
            ]
        },
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {
                "extension": [{"url": f"{BACKPORT}/backport-payload-content", "valueCode": "full-resource"}]
            },
            "extension": [{"url": f"{BACKPORT}/backport-heartbeat-period", "valueUnsignedInt": 60}],
            "header": ["Authorization: Bearer receiver-token"],
        },
    }


def _status(bundle: dict[str, Any]) -> dict[str, Any]:
    """The notification's status Parameters, by parameter name."""
    Bundle.model_validate(bundle)
    assert bundle["meta"]["profile"] == [f"{BACKPORT}/backport-subscription-notification-r4"]
    parameters = bundle["entry"][0]["resource"]
    Parameters.model_validate(parameters)
    return {p["name"]: p for p in parameters["parameter"]}


async def _comment(database: Database, world: World, who: str, patient: str) -> str:
    async with api_client(database, as_user=world.users[who]) as client:
        (alert,) = (await client.get("/api/v1/alerts", params={"patient_id": patient})).json()["items"]
        answer = await client.post(f"/api/v1/alerts/{alert['id']}/comments", json={"text": "rang them"})
        assert answer.status_code == 200
        return str(alert["id"])


async def test_handshake_event_heartbeat_and_nothing_after_delete(database: Database) -> None:
    world = await build(database)
    receiver = Receiver(500, 200)
    async with (
        receiving(receiver) as endpoint,
        api_client(database, as_user=world.users["admin"], settings=LOOPBACK_OK) as admin,
    ):
        created = await admin.post(f"{FHIR}/Subscription", json=_subscription(endpoint, world))
        assert created.status_code == 201, created.text
        subscription = created.json()
        secret = subscription["extension"][0]["valueString"]
        path = f"{FHIR}/Subscription/{subscription['id']}"
        assert created.headers["location"] == f"http://testserver{path}"
        assert subscription["status"] == "requested"
        now = datetime.now(UTC)
        assert await _send(database, now) == Outcome(retrying=1), "the endpoint refused the handshake once"
        assert await _send(database, now + timedelta(seconds=31)) == Outcome(delivered=1)
        read = (await admin.get(path)).json()
        listed = (await admin.get(f"{FHIR}/Subscription")).json()
        topics = (await admin.get(f"{FHIR}/SubscriptionTopic")).json()
        assert [e["resource"]["id"] for e in listed["entry"]] == [subscription["id"]]
        assert [e["resource"]["url"] for e in topics["entry"]] == [TOPIC]
        assert read["status"] == "active"
        assert "extension" not in read, "the secret is shown once"
        assert read["channel"]["header"] == ["Authorization: ***"]

        flag_id = await _comment(database, world, "coordinator", str(world.patient))
        await _comment(
            database, world, "outsider", str(world.other_patient)
        )  # not this subscription's patient
        assert await _send(database, now + timedelta(seconds=40)) == Outcome(delivered=1)
        assert await _send(database, now + timedelta(seconds=45)) == Outcome(), "nothing twice"
        assert await _send(database, now + timedelta(seconds=160)) == Outcome(delivered=1), "a heartbeat"
        status = (await admin.get(f"{path}/$status")).json()

        assert (await admin.delete(path)).json()["status"] == "off"
        await _comment(database, world, "coordinator", str(world.patient))
        assert await _send(database, now + timedelta(seconds=400)) == Outcome()

    handshake, event, heartbeat = [json.loads(body) for _, body in receiver.got[1:]]
    assert _status(handshake)["type"]["valueCode"] == "handshake"
    shown = _status(event)
    assert shown["type"]["valueCode"] == "event-notification"
    assert shown["events-since-subscription-start"]["valueString"] == "1"
    (happening,) = [
        p for p in event["entry"][0]["resource"]["parameter"] if p["name"] == "notification-event"
    ]
    parts = {p["name"]: p for p in happening["part"]}
    assert parts["focus"]["valueReference"]["reference"] == f"http://testserver{FHIR}/Flag/{flag_id}"
    flag = event["entry"][1]["resource"]
    assert (flag["resourceType"], flag["id"], flag["subject"]["reference"]) == (
        "Flag",
        flag_id,
        f"Patient/{world.patient}",
    )
    assert _status(heartbeat)["type"]["valueCode"] == "heartbeat"
    for headers, body in receiver.got:
        assert headers["Authorization"] == "Bearer receiver-token"
        assert headers["Content-Type"] == "application/fhir+json"
        timestamp = int(headers[SIGNATURE_HEADER].split(",")[0][2:])
        assert headers[SIGNATURE_HEADER] == sign(secret, timestamp, body)
    (entry,) = status["entry"]
    assert {p["name"]: p for p in entry["resource"]["parameter"]}["events-since-subscription-start"] == {
        "name": "events-since-subscription-start",
        "valueString": "1",
    }


async def test_what_the_server_cannot_honour_is_refused_and_only_admins_subscribe(database: Database) -> None:
    world = await build(database)
    good = _subscription("http://127.0.0.1:9/notify", world)
    wrong_topic = {**good, "criteria": "http://elsewhere.example/SubscriptionTopic/x"}
    email = {**good, "channel": {**good["channel"], "type": "email"}}
    other_patient = {
        **good,
        "_criteria": {
            "extension": [
                {
                    "url": f"{BACKPORT}/backport-filter-criteria",
                    "valueString": f"Flag?patient={world.other_patient}",
                }
            ]
        },
    }
    async with api_client(database, as_user=world.users["admin"], settings=LOOPBACK_OK) as admin:
        answers = [await admin.post(f"{FHIR}/Subscription", json=body) for body in (wrong_topic, email)]
        outside = await admin.post(f"{FHIR}/Subscription", json=other_patient)  # same site: allowed
    async with api_client(database, as_user=world.users["coordinator"], settings=LOOPBACK_OK) as coordinator:
        refused = await coordinator.post(f"{FHIR}/Subscription", json=good)
    async with api_client(database, as_user=world.users["admin"]) as strict:
        loopback = await strict.post(f"{FHIR}/Subscription", json=good)
    assert [a.status_code for a in answers] == [400, 400]
    assert "criteria must be the topic" in answers[0].json()["issue"][0]["diagnostics"]
    assert "rest-hook" in answers[1].json()["issue"][0]["diagnostics"]
    assert outside.status_code == 201
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert loopback.status_code == 400, "loopback endpoints only where the settings allow them"
