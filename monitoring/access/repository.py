"""Users, care teams and membership in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access.passwords import MIN_LENGTH, hash_off_loop
from monitoring.access.principal import Principal, Role
from monitoring.errors import ConflictError, InvalidRequestError, NotFoundError
from monitoring.storage.models import CareTeam, TeamMember, User


async def user_by_username(*, session: AsyncSession, username: str) -> User | None:
    found: User | None = await session.scalar(select(User).where(User.username == username))
    return found


async def principal_of(*, session: AsyncSession, user_id: UUID) -> Principal | None:
    """The active user with their teams, or None when they no longer exist or were deactivated."""
    user = await session.get(User, user_id)
    if user is None or not user.active:
        return None
    teams = await session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
    return Principal(user.id, user.username, Role(user.role), user.site_id, frozenset(teams))


async def principals_of(*, session: AsyncSession, user_ids: Sequence[UUID]) -> dict[UUID, Principal]:
    """The active ones of ``user_ids`` with their teams, in one query (the live stream rechecks with it)."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(
            User.id,
            User.username,
            User.role,
            User.site_id,
            func.array_remove(func.array_agg(TeamMember.team_id), None),
        )
        .outerjoin(TeamMember, TeamMember.user_id == User.id)
        .where(User.id.in_(user_ids), User.active.is_(True))
        .group_by(User.id)
    )
    return {
        user_id: Principal(user_id, username, Role(role), site_id, frozenset(teams))
        for user_id, username, role, site_id, teams in rows
    }


async def team_by_name(*, session: AsyncSession, site_id: UUID, name: str) -> CareTeam | None:
    found: CareTeam | None = await session.scalar(
        select(CareTeam).where(CareTeam.site_id == site_id, CareTeam.name == name)
    )
    return found


async def create_team(*, session: AsyncSession, site_id: UUID, name: str) -> CareTeam:
    existing = await team_by_name(session=session, site_id=site_id, name=name)
    if existing is not None:
        raise ConflictError(f"the site already has a care team called {name!r}")
    team = CareTeam(site_id=site_id, name=name)
    session.add(team)
    await session.flush()
    return team


async def team_in_site(*, session: AsyncSession, team_id: UUID, site_id: UUID) -> CareTeam:
    team = await session.get(CareTeam, team_id)
    if team is None or team.site_id != site_id:
        raise NotFoundError(f"care team {team_id} does not exist at this site")
    return team


async def list_teams(*, session: AsyncSession, site_id: UUID) -> Sequence[CareTeam]:
    rows = await session.scalars(select(CareTeam).where(CareTeam.site_id == site_id).order_by(CareTeam.name))
    return rows.all()


async def create_user(
    *,
    session: AsyncSession,
    site_id: UUID,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    team_ids: Sequence[UUID] = (),
) -> User:
    if len(password) < MIN_LENGTH:
        raise InvalidRequestError(f"a password needs at least {MIN_LENGTH} characters")
    if await user_by_username(session=session, username=username) is not None:
        raise ConflictError(f"the username {username!r} is taken")
    for team_id in team_ids:
        await team_in_site(session=session, team_id=team_id, site_id=site_id)
    user = User(
        site_id=site_id,
        username=username,
        display_name=display_name,
        role=role.value,
        password_hash=await hash_off_loop(password),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent request took the name first
        raise ConflictError(f"the username {username!r} is taken") from error
    session.add_all(TeamMember(team_id=t, user_id=user.id) for t in set(team_ids))
    await session.flush()
    return user


async def list_users(
    *, session: AsyncSession, site_id: UUID, limit: int, offset: int
) -> tuple[Sequence[User], int]:
    query = select(User).where(User.site_id == site_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(User.username).limit(limit).offset(offset))
    return rows.all(), total


async def teams_of(*, session: AsyncSession, user_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
    rows = await session.execute(
        select(TeamMember.user_id, TeamMember.team_id).where(TeamMember.user_id.in_(user_ids))
    )
    found: dict[UUID, list[UUID]] = {u: [] for u in user_ids}
    for user_id, team_id in rows:
        found[user_id].append(team_id)
    return found


async def update_user(
    *,
    session: AsyncSession,
    site_id: UUID,
    user_id: UUID,
    display_name: str | None = None,
    active: bool | None = None,
    team_ids: Sequence[UUID] | None = None,
) -> tuple[User, list[UUID]]:
    """Change a user of the site; ``team_ids`` replaces their memberships. Returns the user and teams."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.site_id != site_id:
        raise NotFoundError(f"user {user_id} does not exist at your site")
    if display_name is not None:
        user.display_name = display_name
    if active is not None:
        user.active = active
    if team_ids is not None:
        for team_id in team_ids:
            await team_in_site(session=session, team_id=team_id, site_id=site_id)
        await session.execute(delete(TeamMember).where(TeamMember.user_id == user_id))
        session.add_all(TeamMember(team_id=t, user_id=user_id) for t in set(team_ids))
    await session.flush()
    return user, (await teams_of(session=session, user_ids=[user_id]))[user_id]


async def set_glucose_unit(*, session: AsyncSession, user_id: UUID, unit: str) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFoundError(f"user {user_id} does not exist")
    user.glucose_unit = unit
    await session.flush()
    return user


async def get_user(*, session: AsyncSession, user_id: UUID) -> User | None:
    found: User | None = await session.get(User, user_id)
    return found


async def get_team(*, session: AsyncSession, team_id: UUID) -> CareTeam | None:
    found: CareTeam | None = await session.get(CareTeam, team_id)
    return found


async def active_members(*, session: AsyncSession, team_id: UUID) -> Sequence[User]:
    """The team's active users, by name: who its alerts can be assigned to."""
    rows = await session.scalars(
        select(User)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team_id, User.active.is_(True))
        .order_by(User.display_name)
    )
    return rows.all()


async def set_on_call(
    *, session: AsyncSession, team_id: UUID, user_id: UUID | None, at: datetime
) -> CareTeam:
    """Give the team's on-call to ``user_id`` (None: nobody holds it)."""
    team = await session.get(CareTeam, team_id, with_for_update=True)
    if team is None:
        raise NotFoundError(f"care team {team_id} does not exist")
    team.on_call_user_id = user_id
    team.on_call_since = at if user_id is not None else None
    await session.flush()
    return team
