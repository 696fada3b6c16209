"""Administration of a site: care teams, users, webhooks and the audit log (admins only)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from sqlalchemy import select

from monitoring.access import audit, repository
from monitoring.api.access_schemas import (
    AuditOut,
    TeamIn,
    TeamOut,
    UserIn,
    UserOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)
from monitoring.api.deps import PageDep, SessionDep, SettingsDep
from monitoring.api.routers.auth import user_out
from monitoring.api.schemas import ErrorBody, Page
from monitoring.api.security import AdminDep
from monitoring.errors import InvalidRequestError, NotFoundError
from monitoring.storage.models import Webhook

router = APIRouter(tags=["administration"])
_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Not signed in."},
    403: {"model": ErrorBody, "description": "Not an admin."},
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    **_REFUSED,
    409: {"model": ErrorBody, "description": "The name is taken."},
}


@router.post("/teams", status_code=201, summary="Create a care team at the admin's site", responses=_CONFLICT)
async def create_team(session: SessionDep, admin: AdminDep, body: TeamIn) -> TeamOut:
    team = await repository.create_team(session=session, site_id=admin.site_id, name=body.name)
    return TeamOut.model_validate(team)


@router.get("/teams", summary="The care teams of the admin's site", responses=_REFUSED)
async def list_teams(session: SessionDep, admin: AdminDep) -> list[TeamOut]:
    return [
        TeamOut.model_validate(t) for t in await repository.list_teams(session=session, site_id=admin.site_id)
    ]


@router.post("/users", status_code=201, summary="Create a user at the admin's site", responses=_CONFLICT)
async def create_user(session: SessionDep, admin: AdminDep, body: UserIn) -> UserOut:
    user = await repository.create_user(
        session=session,
        site_id=admin.site_id,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
        team_ids=body.team_ids,
    )
    return user_out(user, sorted(set(body.team_ids)))


@router.get("/users", summary="Users of the admin's site", responses=_REFUSED)
async def list_users(session: SessionDep, admin: AdminDep, page: PageDep) -> Page[UserOut]:
    rows, total = await repository.list_users(
        session=session, site_id=admin.site_id, limit=page.limit, offset=page.offset
    )
    teams = await repository.teams_of(session=session, user_ids=[u.id for u in rows])
    return Page(
        items=[user_out(u, sorted(teams[u.id])) for u in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/audit", summary="Who read or changed what, newest first (the admin's site)", responses=_REFUSED)
async def list_audit(
    session: SessionDep,
    admin: AdminDep,
    page: PageDep,
    user_id: Annotated[UUID | None, Query()] = None,
    patient_id: Annotated[UUID | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Inclusive.")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive.")] = None,
) -> Page[AuditOut]:
    site_users, _ = await repository.list_users(
        session=session, site_id=admin.site_id, limit=100_000, offset=0
    )
    allowed = [u.id for u in site_users]
    rows, total = await audit.query(
        session=session,
        user_ids=[user_id] if user_id in allowed else [] if user_id is not None else allowed,
        patient_id=patient_id,
        since=since,
        until=until,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[AuditOut.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/webhooks", status_code=201, summary="Subscribe a URL to the site's alert changes", responses=_REFUSED
)
async def create_webhook(
    session: SessionDep, settings: SettingsDep, admin: AdminDep, body: WebhookIn
) -> WebhookCreated:
    if settings.environment == "production" and not body.url.startswith("https://"):
        raise InvalidRequestError("webhooks must use https in production")
    hook = Webhook(site_id=admin.site_id, url=body.url, secret=secrets.token_urlsafe(32))
    session.add(hook)
    await session.flush()
    await session.refresh(hook)
    return WebhookCreated(
        id=hook.id, url=hook.url, active=hook.active, created_at=hook.created_at, secret=hook.secret
    )


@router.get("/webhooks", summary="The site's webhooks (secrets are not shown again)", responses=_REFUSED)
async def list_webhooks(session: SessionDep, admin: AdminDep) -> list[WebhookOut]:
    rows = await session.scalars(
        select(Webhook).where(Webhook.site_id == admin.site_id).order_by(Webhook.created_at)
    )
    return [WebhookOut.model_validate(w) for w in rows]


@router.post("/webhooks/{webhook_id}/disable", summary="Stop sending to a webhook", responses=_REFUSED)
async def disable_webhook(session: SessionDep, admin: AdminDep, webhook_id: UUID) -> WebhookOut:
    hook = await session.get(Webhook, webhook_id)
    if hook is None or hook.site_id != admin.site_id:
        raise NotFoundError(f"webhook {webhook_id} is not one of your site's")
    hook.active = False
    await session.flush()
    return WebhookOut.model_validate(hook)
