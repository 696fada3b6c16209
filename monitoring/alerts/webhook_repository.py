"""All SQL on webhooks and their deliveries."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.errors import NotFoundError
from monitoring.storage.models import Alert, AlertEvent, Webhook, WebhookDelivery


async def create(*, session: AsyncSession, site_id: UUID, url: str) -> Webhook:
    hook = Webhook(site_id=site_id, url=url, secret=secrets.token_urlsafe(32))
    session.add(hook)
    await session.flush()
    await session.refresh(hook)
    return hook


async def of_site(*, session: AsyncSession, site_id: UUID) -> Sequence[Webhook]:
    rows = await session.scalars(
        select(Webhook).where(Webhook.site_id == site_id).order_by(Webhook.created_at)
    )
    return rows.all()


async def disable(*, session: AsyncSession, site_id: UUID, webhook_id: UUID) -> Webhook:
    hook = await session.get(Webhook, webhook_id, with_for_update=True)
    if hook is None or hook.site_id != site_id:
        raise NotFoundError(f"webhook {webhook_id} is not one of your site's")
    hook.active = False
    await session.flush()
    return hook


async def due_deliveries(
    *, session: AsyncSession, now: datetime, limit: int
) -> Sequence[tuple[WebhookDelivery, AlertEvent, Alert, Webhook]]:
    """Pending deliveries whose time has come, oldest first, locked (several senders skip each other's)."""
    rows = await session.execute(
        select(WebhookDelivery, AlertEvent, Alert, Webhook)
        .join(AlertEvent, AlertEvent.id == WebhookDelivery.alert_event_id)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    return [(d, e, a, w) for d, e, a, w in rows]
