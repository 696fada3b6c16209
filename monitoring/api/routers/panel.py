"""The patient panel: the coordinator's and clinician's home page, paged on the server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from monitoring.api.auditing import note_patients
from monitoring.api.deps import PageDep, SessionDep
from monitoring.api.schemas.common import Page
from monitoring.api.schemas.panel import PanelRowOut, panel_row_out
from monitoring.api.security import PrincipalDep
from monitoring.domain import Condition
from monitoring.reports.panel import panel
from monitoring.reports.records import AlertFilter, FlagFilter, PanelQuery, SortKey

router = APIRouter(prefix="/panel", tags=["patients"])


@router.get("", summary="Patients at a glance: search, filter, sort and page")
async def get_panel(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of the name or the start of the MRN.")
    ] = None,
    care_team_id: Annotated[UUID | None, Query()] = None,
    condition: Annotated[Condition | None, Query()] = None,
    flag: Annotated[
        FlagFilter | None,
        Query(description="any: some triage flag; none: no flag; or one kind of flag."),
    ] = None,
    alerts: Annotated[
        AlertFilter | None,
        Query(description="any: an open alert; none: no open alert; high: high or critical; critical."),
    ] = None,
    sort: Annotated[
        SortKey,
        Query(
            description="risk (highest first), name, last_reading (longest silent first), "
            "time_in_range (lowest first, no CGM last), adherence (fewest days first)."
        ),
    ] = "risk",
    reverse: Annotated[bool, Query(description="The other way round.")] = False,
) -> Page[PanelRowOut]:
    query = PanelQuery(
        text=q,
        care_team_id=care_team_id,
        condition=condition.value if condition else None,
        flag=flag,
        alerts=alerts,
        sort=sort,
        reverse=reverse,
    )
    rows, total = await panel(
        session=session,
        scope=principal.patient_scope(),
        query=query,
        limit=page.limit,
        offset=page.offset,
        now=datetime.now(UTC),
    )
    note_patients(request, (r.patient.id for r in rows), total=total)
    return Page(items=[panel_row_out(r) for r in rows], total=total, limit=page.limit, offset=page.offset)
