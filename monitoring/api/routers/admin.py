"""Administration of a site: care teams, users, webhooks and the audit log (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request

from monitoring.access import audit_repository, repository
from monitoring.alerts import destinations, webhook_repository
from monitoring.api.deps import PageDep, SessionDep, SettingsDep
from monitoring.api.schemas.access import (
    AuditOut,
    TeamIn,
    TeamOut,
    UserChange,
    UserIn,
    UserOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    user_out,
)
from monitoring.api.schemas.common import ErrorBody, Page
from monitoring.api.security import AdminDep
from monitoring.errors import ConflictError

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


@router.patch(
    "/users/{user_id}",
    summary="Change a user: deactivate, or move between care teams (takes effect at once)",
    responses={**_REFUSED, 404: {"model": ErrorBody, "description": "Not a user of your site."}},
)
async def change_user(session: SessionDep, admin: AdminDep, user_id: UUID, body: UserChange) -> UserOut:
    if user_id == admin.user_id and body.active is False:
        raise ConflictError("you cannot deactivate your own account; ask another admin")
    user, teams = await repository.update_user(
        session=session,
        site_id=admin.site_id,
        user_id=user_id,
        display_name=body.display_name,
        active=body.active,
        team_ids=body.team_ids,
    )
    return user_out(user, sorted(teams))


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
    rows, total = await audit_repository.query(
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
    "/webhooks",
    status_code=201,
    summary="Subscribe a public https URL to the site's alert changes",
    responses={**_REFUSED, 400: {"model": ErrorBody, "description": "The URL is not a public address."}},
)
async def create_webhook(
    request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep, body: WebhookIn
) -> WebhookCreated:
    await destinations.check(
        body.url,
        allow_loopback=settings.alerts.webhook_allow_loopback,
        require_https=settings.environment == "production",
        resolve=request.app.state.resolver,
    )
    hook = await webhook_repository.create(session=session, site_id=admin.site_id, url=body.url)
    return WebhookCreated(
        id=hook.id, url=hook.url, active=hook.active, created_at=hook.created_at, secret=hook.secret
    )


@router.get("/webhooks", summary="The site's webhooks (secrets are not shown again)", responses=_REFUSED)
async def list_webhooks(session: SessionDep, admin: AdminDep) -> list[WebhookOut]:
    hooks = await webhook_repository.of_site(session=session, site_id=admin.site_id)
    return [WebhookOut.model_validate(w) for w in hooks]


@router.post("/webhooks/{webhook_id}/disable", summary="Stop sending to a webhook", responses=_REFUSED)
async def disable_webhook(session: SessionDep, admin: AdminDep, webhook_id: UUID) -> WebhookOut:
    hook = await webhook_repository.disable(session=session, site_id=admin.site_id, webhook_id=webhook_id)
    return WebhookOut.model_validate(hook)
