"""A care team's triage list: its patients by risk, with what needs attention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter

from monitoring.access.principal import Role
from monitoring.api.deps import SessionDep
from monitoring.api.report_schemas import TriageRowOut
from monitoring.api.schemas import ErrorBody
from monitoring.api.security import PrincipalDep
from monitoring.errors import NotFoundError
from monitoring.reports.team import team_triage
from monitoring.storage.models import CareTeam

router = APIRouter(prefix="/teams", tags=["reports"])
_MISSING: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such team among yours (admins: at your site)."}
}


@router.get(
    "/{team_id}/triage", summary="The team's patients, riskiest first, with their flags", responses=_MISSING
)
async def get_triage(session: SessionDep, principal: PrincipalDep, team_id: UUID) -> list[TriageRowOut]:
    team = await session.get(CareTeam, team_id)
    mine = team is not None and (
        team.id in principal.team_ids or (principal.role is Role.ADMIN and team.site_id == principal.site_id)
    )
    if not mine:
        raise NotFoundError(f"care team {team_id} does not exist or is not yours")
    rows = await team_triage(session=session, team_id=team_id, now=datetime.now(UTC))
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
            devices_offline=r.devices_offline,
        )
        for r in rows
    ]
