"""All SQL on webhooks and their deliveries."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.errors import NotFoundError
from monitoring.fhir.subscriptions import SubscriptionRequest
from monitoring.storage.models import Alert, AlertEvent, Webhook, WebhookDelivery


async def create(*, session: AsyncSession, site_id: UUID, url: str) -> Webhook:
    hook = Webhook(site_id=site_id, url=url, secret=secrets.token_urlsafe(32))
    session.add(hook)
    await session.flush()
    await session.refresh(hook)
    return hook


async def of_site(*, session: AsyncSession, site_id: UUID, kind: str = "webhook") -> Sequence[Webhook]:
    rows = await session.scalars(
        select(Webhook).where(Webhook.site_id == site_id, Webhook.kind == kind).order_by(Webhook.created_at)
    )
    return rows.all()


async def create_subscription(
    *, session: AsyncSession, site_id: UUID, wanted: SubscriptionRequest, base: str
) -> Webhook:
    """A FHIR subscription, requested until its endpoint takes the handshake (queued now)."""
    hook = Webhook(
        site_id=site_id,
        url=wanted.endpoint,
        secret=secrets.token_urlsafe(32),
        kind="fhir",
        status="requested",
        payload_content=wanted.payload_content,
        heartbeat_s=wanted.heartbeat_s,
        headers=wanted.headers,
        patient_id=wanted.patient_id,
        reason=wanted.reason,
        fhir_base=base,
    )
    session.add(hook)
    await session.flush()
    session.add(WebhookDelivery(webhook_id=hook.id, kind="handshake"))
    await session.flush()
    await session.refresh(hook)
    return hook


async def subscription(*, session: AsyncSession, site_id: UUID, subscription_id: UUID) -> Webhook:
    hook = await session.get(Webhook, subscription_id)
    if hook is None or hook.site_id != site_id or hook.kind != "fhir":
        raise NotFoundError(f"Subscription/{subscription_id} does not exist or is not your site's")
    return hook


async def end_subscription(*, session: AsyncSession, site_id: UUID, subscription_id: UUID) -> None:
    """Nothing more is sent (what is queued is dropped)."""
    hook = await subscription(session=session, site_id=site_id, subscription_id=subscription_id)
    hook.active, hook.status = False, "off"
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id, WebhookDelivery.status == "pending")
        .values(status="failed", last_error="subscription deleted")
    )
    await session.flush()


async def queue_heartbeats(*, session: AsyncSession, now: datetime) -> int:
    """A heartbeat for each active subscription nothing was queued for in its heartbeat period."""
    quiet = (
        update(Webhook)
        .where(
            Webhook.kind == "fhir",
            Webhook.active,
            Webhook.status == "active",
            Webhook.heartbeat_s.is_not(None),
            func.coalesce(Webhook.last_queued_at, Webhook.created_at)
            + func.make_interval(0, 0, 0, 0, 0, 0, Webhook.heartbeat_s)
            <= now,
        )
        .values(last_queued_at=now)
        .returning(Webhook.id)
    )
    due = list((await session.scalars(quiet)).all())
    session.add_all(WebhookDelivery(webhook_id=hook_id, kind="heartbeat") for hook_id in due)
    await session.flush()
    return len(due)


async def disable(*, session: AsyncSession, site_id: UUID, webhook_id: UUID) -> Webhook:
    hook = await session.get(Webhook, webhook_id, with_for_update=True)
    if hook is None or hook.site_id != site_id:
        raise NotFoundError(f"webhook {webhook_id} is not one of your site's")
    hook.active = False
    await session.flush()
    return hook


async def due_deliveries(
    *, session: AsyncSession, now: datetime, limit: int
) -> Sequence[tuple[WebhookDelivery, AlertEvent | None, Alert | None, Webhook]]:
    """Pending deliveries whose time has come, oldest first, locked (several senders skip each
    other's); a subscription's handshake and heartbeats have no alert event."""
    rows = await session.execute(
        select(WebhookDelivery, AlertEvent, Alert, Webhook)
        .outerjoin(AlertEvent, AlertEvent.id == WebhookDelivery.alert_event_id)
        .outerjoin(Alert, Alert.id == AlertEvent.alert_id)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    return [(d, e, a, w) for d, e, a, w in rows]
