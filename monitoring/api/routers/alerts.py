"""Alerts as the care team sees them."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from monitoring.alerts import repository
from monitoring.alerts.queries import alert_record
from monitoring.api.deps import PageDep, SessionDep
from monitoring.api.schemas import AlertDetail, AlertEventOut, AlertOut, ErrorBody, Page
from monitoring.domain import AlertStatus, Severity

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", summary="Alerts, newest first")
async def list_alerts(
    session: SessionDep,
    page: PageDep,
    status: Annotated[list[AlertStatus] | None, Query(description="Any of these statuses.")] = None,
    patient_id: Annotated[UUID | None, Query()] = None,
    severity: Annotated[list[Severity] | None, Query(description="Any of these severities.")] = None,
) -> Page[AlertOut]:
    rows, total = await repository.list_alerts(
        session=session,
        statuses=status,
        patient_id=patient_id,
        severities=severity,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[AlertOut.model_validate(a) for a in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/{alert_id}",
    summary="One alert with its explanation and history",
    responses={404: {"model": ErrorBody, "description": "No such alert."}},
)
async def get_alert(session: SessionDep, alert_id: UUID) -> AlertDetail:
    record = await alert_record(session=session, alert_id=alert_id)
    return AlertDetail.model_validate(
        {
            **AlertOut.model_validate(record.alert).model_dump(),
            "events": [AlertEventOut.model_validate(e) for e in record.events],
        }
    )
