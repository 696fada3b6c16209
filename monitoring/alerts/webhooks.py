"""Webhook delivery: signed POSTs of alert changes, retried with backoff until delivered.

A FHIR subscription (a webhook of kind ``fhir``) gets the same outbox, retries, signature and
address checks; its bodies are the Subscriptions Backport's notification Bundles, and it also
gets a handshake when created and heartbeats when nothing else was queued in its period.

The database queues one delivery per (alert change, active webhook of the
patient's site) in the same transaction as the change. This sender takes due
deliveries (``FOR UPDATE SKIP LOCKED``, so several schedulers never send one
twice), POSTs them, and on failure retries after 30 s, 1, 2, 4 ... minutes (at
most an hour apart) up to ``MAX_ATTEMPTS``, then marks the delivery failed.

Each request carries ``X-RPM-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>" with the webhook's secret>``; receivers recompute it and reject
old timestamps, which defeats replay. Every attempt first checks where the URL
resolves now (``destinations``) and sends to that checked address.

>>> sign("s3cret", 1700000000, b'{"a":1}')  # = openssl dgst -sha256 -hmac s3cret of 1700000000.{"a":1}
't=1700000000,v1=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.alerts import webhook_repository
from monitoring.alerts.destinations import Resolver, UnsafeDestinationError, check, system_resolve
from monitoring.fhir import resources, subscriptions
from monitoring.storage.models import Alert, AlertEvent, Webhook, WebhookDelivery

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
SIGNATURE_HEADER = "X-RPM-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def backoff(attempts: int) -> timedelta:
    wait = FIRST_RETRY * float(2 ** (attempts - 1))
    return wait if wait < LONGEST_WAIT else LONGEST_WAIT


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class WebhookSender:
    """Sends one signed POST to a webhook's URL, at an address checked just before."""

    client: httpx.AsyncClient
    allow_loopback: bool = False
    require_https: bool = True
    resolve: Resolver = system_resolve

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> str | None:
        """None when the receiver took it; otherwise what went wrong."""
        try:
            destination = await check(
                url,
                allow_loopback=self.allow_loopback,
                require_https=self.require_https,
                resolve=self.resolve,
            )
        except UnsafeDestinationError as refused:
            return f"refused: {refused.message}"[:500]
        extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
        try:
            response = await self.client.post(
                destination.pinned_url(),
                content=body,
                headers={**headers, "Host": destination.host_header},
                extensions=extensions,
            )
        except httpx.HTTPError as problem:
            return f"{type(problem).__name__}: {problem}"[:500]
        return None if response.is_success else f"HTTP {response.status_code}"


def payload(delivery: WebhookDelivery, event: AlertEvent, alert: Alert) -> dict[str, Any]:
    return {
        "delivery_id": delivery.id,
        "event": event.kind,
        "at": event.at.isoformat(),
        "alert": {
            "id": str(alert.id),
            "patient_id": str(alert.patient_id),
            "alert_type": alert.alert_type,
            "severity": alert.severity,
            "status": alert.status,
            "summary": alert.summary,
            "opened_at": alert.opened_at.isoformat(),
            "escalation_level": alert.escalation_level,
        },
    }


def _request(
    delivery: WebhookDelivery, event: AlertEvent | None, alert: Alert | None, webhook: Webhook, now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery: our JSON for a webhook, a notification Bundle for a
    FHIR subscription (with the headers its channel asked for)."""
    if webhook.kind != "fhir":
        assert event is not None
        assert alert is not None
        return _json(payload(delivery, event, alert)), {"Content-Type": "application/json"}
    state = subscriptions.state_of(webhook)
    if delivery.kind == "event" and event is not None and alert is not None:
        number = delivery.event_number or state.events_since_start
        state = replace(state, events_since_start=number)
        body = subscriptions.notification(
            state, "event-notification", at=now, event=(number, event.at, resources.flag(alert))
        )
    else:
        body = subscriptions.notification(state, delivery.kind, at=now)
    headers = dict(_split(h) for h in webhook.headers or [])
    return _json(body), {**headers, "Content-Type": "application/fhir+json"}


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _split(header: str) -> tuple[str, str]:
    name, _, value = header.partition(":")
    return name.strip(), value.strip()


async def deliver_due(
    *, session: AsyncSession, sender: WebhookSender, now: datetime, batch: int = 50
) -> Outcome:
    await webhook_repository.queue_heartbeats(session=session, now=now)
    due = await webhook_repository.due_deliveries(session=session, now=now, limit=batch)
    delivered = retrying = failed = 0
    for delivery, event, alert, webhook in due:
        body, headers = _request(delivery, event, alert, webhook, now)
        headers |= {
            SIGNATURE_HEADER: sign(webhook.secret, int(now.timestamp()), body),
            "X-RPM-Delivery": str(delivery.id),
        }
        delivery.attempts += 1
        error = await sender.post(webhook.url, body, headers)
        if error is None:
            delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
            delivered += 1
            if delivery.kind == "handshake" and webhook.status == "requested":
                webhook.status = "active"
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status, delivery.last_error = "failed", error
            failed += 1
            log.error("webhook delivery %d to webhook %s failed for good: %s", delivery.id, webhook.id, error)
            if delivery.kind == "handshake":  # the endpoint never agreed: send it nothing more
                webhook.status, webhook.active = "error", False
        else:
            delivery.next_attempt_at, delivery.last_error = now + backoff(delivery.attempts), error
            retrying += 1
    await session.flush()
    return Outcome(delivered, retrying, failed)
