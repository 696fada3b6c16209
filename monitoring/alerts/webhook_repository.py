"""All SQL on webhooks (the deliveries' own queries are in ``webhooks``)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.errors import NotFoundError
from monitoring.storage.models import Webhook


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
