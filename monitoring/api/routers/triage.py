"""A care team: who is in it (to assign alerts to), and its triage list of patients by risk."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access import repository
from monitoring.access.principal import Principal, Role
from monitoring.api.auditing import note_patients
from monitoring.api.deps import SessionDep
from monitoring.api.schemas.access import MemberOut, OnCallOut, TeamDetail
from monitoring.api.schemas.common import ErrorBody
from monitoring.api.schemas.reports import TriageRowOut
from monitoring.api.security import CareTeamDep, PrincipalDep
from monitoring.errors import ForbiddenError, NotFoundError
from monitoring.reports.team import team_triage
from monitoring.storage.models import CareTeam

router = APIRouter(prefix="/teams", tags=["reports"])
_MISSING: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such team among yours (admins: at your site)."}
}


async def _team(session: AsyncSession, principal: Principal, team_id: UUID) -> CareTeam:
    team = await repository.get_team(session=session, team_id=team_id)
    mine = team is not None and (
        team.id in principal.team_ids or (principal.role is Role.ADMIN and team.site_id == principal.site_id)
    )
    if team is None or not mine:
        raise NotFoundError(f"care team {team_id} does not exist or is not yours")
    return team


@router.get("/{team_id}", summary="A care team, its members and who is on call", responses=_MISSING)
async def get_team(session: SessionDep, principal: PrincipalDep, team_id: UUID) -> TeamDetail:
    return await _detail(session, await _team(session, principal, team_id))


async def _detail(session: AsyncSession, team: CareTeam) -> TeamDetail:
    members = await repository.active_members(session=session, team_id=team.id)
    holder = next((u for u in members if u.id == team.on_call_user_id), None)
    return TeamDetail(
        id=team.id,
        name=team.name,
        on_call=OnCallOut(user_id=holder.id, display_name=holder.display_name, since=team.on_call_since)
        if holder
        else None,
        members=[MemberOut(id=u.id, display_name=u.display_name, role=Role(u.role)) for u in members],
    )


@router.post(
    "/{team_id}/on-call",
    summary="Take the team's on-call: its escalations come to you from now",
    responses={**_MISSING, 403: {"model": ErrorBody, "description": "Only the team's care staff."}},
)
async def take_on_call(session: SessionDep, who: CareTeamDep, team_id: UUID) -> TeamDetail:
    team = await _team(session, who, team_id)
    team = await repository.set_on_call(
        session=session, team_id=team.id, user_id=who.user_id, at=datetime.now(UTC)
    )
    return await _detail(session, team)


@router.delete(
    "/{team_id}/on-call",
    summary="Hand the on-call back (its holder or the site's admin): escalations go to nobody in particular",
    responses={**_MISSING, 403: {"model": ErrorBody, "description": "Only its holder or the site's admin."}},
)
async def release_on_call(session: SessionDep, principal: PrincipalDep, team_id: UUID) -> TeamDetail:
    team = await _team(session, principal, team_id)
    if principal.role is not Role.ADMIN and team.on_call_user_id != principal.user_id:
        raise ForbiddenError("only whoever holds the on-call, or the site's admin, can hand it back")
    team = await repository.set_on_call(session=session, team_id=team.id, user_id=None, at=datetime.now(UTC))
    return await _detail(session, team)


@router.get(
    "/{team_id}/triage", summary="The team's patients, riskiest first, with their flags", responses=_MISSING
)
async def get_triage(
    request: Request, session: SessionDep, principal: PrincipalDep, team_id: UUID
) -> list[TriageRowOut]:
    await _team(session, principal, team_id)
    rows = await team_triage(session=session, team_id=team_id, now=datetime.now(UTC))
    note_patients(request, (r.patient_id for r in rows))
    return [
        TriageRowOut(
            patient_id=r.patient_id,
            display_name=r.display_name,
            risk=r.risk,
            flags=r.flags,
            open_alerts=r.open_alerts,
            time_below_70=r.time_below_70,
            time_below_54=r.time_below_54,
            time_in_range=r.time_in_range,
            previous_time_in_range=r.previous_time_in_range,
            adherence_days=r.adherence_days,
            monitored_days=r.dates_monitored,
            devices_offline=r.devices_offline,
        )
        for r in rows
    ]
