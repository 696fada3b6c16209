"""Accounts for a fresh site: a care team and its first users (the demo's, or an admin's first login)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access import repository
from monitoring.access.principal import Role
from monitoring.alerts import repository as alerts
from monitoring.alerts.lifecycle import Action
from monitoring.alerts.team_work import Change, apply
from monitoring.registry import repository as registry
from monitoring.registry.service import ensure_site
from monitoring.storage.db import Database

DEMO_PASSWORD = "demo-password-only"  # noqa: S105 - the demo's accounts, printed for its user


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    role: Role


async def ensure_user(
    database: Database,
    *,
    site_code: str,
    username: str,
    role: Role,
    password: str,
    team: str | None = None,
) -> UUID:
    """Create the user (and their team) unless the username exists; return the user's id."""
    async with database.unit_of_work() as session:
        site = await ensure_site(session=session, code=site_code, name=site_code)
        existing = await repository.user_by_username(session=session, username=username)
        if existing is not None:
            return existing.id
        team_ids = [] if team is None else [await _ensure_team(session, site.id, team)]
        created = await repository.create_user(
            session=session,
            site_id=site.id,
            username=username,
            display_name=username.replace("-", " ").title(),
            role=role,
            password=password,
            team_ids=team_ids,
        )
        return created.id


async def _ensure_team(session: AsyncSession, site_id: UUID, name: str) -> UUID:
    found = await repository.team_by_name(session=session, site_id=site_id, name=name)
    if found is not None:
        return found.id
    return (await repository.create_team(session=session, site_id=site_id, name=name)).id


async def demo_staff(database: Database, site_code: str, team: str = "Demo care team") -> list[Account]:
    """The demo site's team looks after all its patients; one account per role, same password."""
    accounts = [Account(f"demo-{role.value}", role) for role in Role]
    for account in accounts:
        await ensure_user(
            database,
            site_code=site_code,
            username=account.username,
            role=account.role,
            password=DEMO_PASSWORD,
            team=None if account.role is Role.ADMIN else team,
        )
    async with database.unit_of_work() as session:
        site = await ensure_site(session=session, code=site_code, name=site_code)
        team_id = await _ensure_team(session, site.id, team)
        await registry.assign_unteamed(session=session, site_id=site.id, team_id=team_id)
    return accounts


async def close_ended_history(database: Database, *, site_code: str, username: str, before: datetime) -> int:
    """Resolve, as ``username``, the open alerts whose episodes began before ``before`` and ended.

    The demo uploads two weeks of history at start; a care team would have worked what happened
    in it. What is still going on stays open. Each closed alert says why in its history.
    """
    async with database.unit_of_work() as session:
        user = await repository.user_by_username(session=session, username=username)
        site = await ensure_site(session=session, code=site_code, name=site_code)
        principal = None if user is None else await repository.principal_of(session=session, user_id=user.id)
        if principal is None:
            return 0
        ended = await alerts.ended_but_open(session=session, site_id=site.id, began_before=before)
        now = datetime.now(UTC)
        note = "Closed when the demo started: the episode began and ended in the uploaded history."
        for alert_id in ended:
            await apply(
                session=session,
                principal=principal,
                alert_id=alert_id,
                change=Change(Action.RESOLVE, note=note),
                now=now,
            )
        return len(ended)
