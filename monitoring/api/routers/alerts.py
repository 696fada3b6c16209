"""Alerts as the care team sees and works them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access.principal import Principal
from monitoring.alerts import repository
from monitoring.alerts.lifecycle import Action
from monitoring.alerts.team_work import Change, alert_record, apply
from monitoring.api.auditing import note_patients
from monitoring.api.deps import PageDep, SessionDep
from monitoring.api.schemas.alerts import (
    AlertDetail,
    AlertOut,
    AssignIn,
    BulkIn,
    BulkOut,
    BulkResultOut,
    CommentIn,
    DismissalCount,
    DismissIn,
    Names,
    NoteIn,
    QueueFacetsOut,
    SnoozeIn,
    alert_detail,
    named,
)
from monitoring.api.schemas.common import ErrorBody, Page
from monitoring.api.security import CareTeamDep, PrincipalDep
from monitoring.domain import AlertStatus, Severity
from monitoring.errors import DomainError
from monitoring.storage.models import Alert

router = APIRouter(prefix="/alerts", tags=["alerts"])
_MISSING: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such alert among your care teams' patients."}
}
_WORK: dict[int | str, dict[str, Any]] = {
    **_MISSING,
    400: {"model": ErrorBody, "description": "The change is missing something it needs."},
    403: {"model": ErrorBody, "description": "Only coordinators and clinicians work alerts."},
    409: {"model": ErrorBody, "description": "Not allowed from the alert's current status."},
}


@router.get("", summary="Alerts, newest first; or the work queue, most urgent first")
async def list_alerts(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    status: Annotated[list[AlertStatus] | None, Query(description="Any of these statuses.")] = None,
    patient_id: Annotated[UUID | None, Query()] = None,
    severity: Annotated[list[Severity] | None, Query(description="Any of these severities.")] = None,
    queue: Annotated[
        bool,
        Query(
            description="The coordinator's queue: open and acknowledged alerts that are not snoozed, "
            "by severity (highest first) and age (oldest first)."
        ),
    ] = False,
    assigned: Annotated[
        Literal["me", "nobody"] | None,
        Query(description="Only alerts assigned to the caller (me), or to nobody."),
    ] = None,
    alert_type: Annotated[
        list[str] | None, Query(max_length=50, description="Any of these alert types.")
    ] = None,
) -> Page[AlertOut]:
    rows, total = await repository.list_alerts(
        session=session,
        statuses=status,
        patient_id=patient_id,
        severities=severity,
        limit=page.limit,
        offset=page.offset,
        scope=principal.patient_scope(),
        queue_at=datetime.now(UTC) if queue else None,
        assigned_to=principal.user_id if assigned == "me" else None,
        unassigned=assigned == "nobody",
        alert_types=alert_type,
    )
    note_patients(request, (a.patient_id for a in rows), total=total)
    names = await _names(session, rows)
    return Page(items=[named(a, names) for a in rows], total=total, limit=page.limit, offset=page.offset)


async def _names(session: AsyncSession, alerts: Sequence[Alert]) -> Names:
    patients, users = await repository.names_of(
        session=session,
        patient_ids={a.patient_id for a in alerts},
        user_ids={a.assigned_to for a in alerts if a.assigned_to},
    )
    return Names(patients, users)


@router.get("/facets", summary="How many alerts the queue holds, by severity and by type")
async def facets(
    session: SessionDep,
    principal: PrincipalDep,
    assigned: Annotated[Literal["me", "nobody"] | None, Query()] = None,
) -> QueueFacetsOut:
    rows = await repository.queue_facets(
        session=session,
        scope=principal.patient_scope(),
        queue_at=datetime.now(UTC),
        assigned_to=principal.user_id if assigned == "me" else None,
        unassigned=assigned == "nobody",
    )
    by_severity: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for severity, kind, n in rows:
        by_severity[severity] = by_severity.get(severity, 0) + n
        by_type[kind] = by_type.get(kind, 0) + n
    return QueueFacetsOut(total=sum(by_severity.values()), severity=by_severity, alert_type=by_type)


_BULK_ACTIONS = {"acknowledge": Action.ACKNOWLEDGE, "resolve": Action.RESOLVE, "assign": Action.ASSIGN}


@router.post(
    "/bulk",
    summary="Acknowledge, resolve or assign many alerts at once; each succeeds or fails on its own",
    responses={403: _WORK[403]},
)
async def bulk(request: Request, session: SessionDep, who: CareTeamDep, body: BulkIn) -> BulkOut:
    now = datetime.now(UTC)
    change = Change(_BULK_ACTIONS[body.action], note=body.note, assignee=body.user_id)
    results: list[BulkResultOut] = []
    touched: list[UUID] = []
    for alert_id in dict.fromkeys(body.alert_ids):  # each once, in the order asked
        try:
            async with session.begin_nested():  # a refusal undoes only its own alert's change
                alert = await apply(session=session, principal=who, alert_id=alert_id, change=change, now=now)
            touched.append(alert.patient_id)
            results.append(
                BulkResultOut(alert_id=alert_id, ok=True, status=AlertStatus(alert.status), error=None)
            )
        except DomainError as error:
            results.append(
                BulkResultOut(
                    alert_id=alert_id,
                    ok=False,
                    status=None,
                    error={"code": error.code, "message": error.message},
                )
            )
    note_patients(request, touched)
    done = sum(r.ok for r in results)
    return BulkOut(done=done, failed=len(results) - done, results=results)


@router.get("/dismissals", summary="Alerts dismissed as false, by type and reason (for detector tuning)")
async def dismissals(
    session: SessionDep,
    principal: PrincipalDep,
    since: Annotated[datetime | None, Query(description="Default: the last 90 days.")] = None,
) -> list[DismissalCount]:
    rows = await repository.dismissal_counts(
        session=session,
        scope=principal.patient_scope(),
        since=since or datetime.now(UTC) - timedelta(days=90),
    )
    return [DismissalCount(alert_type=t, reason=r, count=n) for t, r, n in rows]


@router.get("/{alert_id}", summary="One alert with its explanation and history", responses=_MISSING)
async def get_alert(
    request: Request, session: SessionDep, principal: PrincipalDep, alert_id: UUID
) -> AlertDetail:
    record = await alert_record(session=session, principal=principal, alert_id=alert_id)
    request.state.audit_patient = record.alert.patient_id
    return alert_detail(record.alert, record.events, await _names(session, [record.alert]))


async def _work(
    request: Request, session: AsyncSession, principal: Principal, alert_id: UUID, change: Change
) -> AlertDetail:
    alert = await apply(
        session=session, principal=principal, alert_id=alert_id, change=change, now=datetime.now(UTC)
    )
    request.state.audit_patient = alert.patient_id
    events = await repository.events_of(session=session, alert_id=alert.id)
    return alert_detail(alert, events, await _names(session, [alert]))


@router.post("/{alert_id}/acknowledge", summary="Acknowledge: someone is on it", responses=_WORK)
async def acknowledge(
    request: Request, session: SessionDep, who: CareTeamDep, alert_id: UUID, body: NoteIn | None = None
) -> AlertDetail:
    return await _work(
        request, session, who, alert_id, Change(Action.ACKNOWLEDGE, note=body.note if body else None)
    )


@router.post("/{alert_id}/resolve", summary="Resolve: dealt with", responses=_WORK)
async def resolve(
    request: Request, session: SessionDep, who: CareTeamDep, alert_id: UUID, body: NoteIn | None = None
) -> AlertDetail:
    return await _work(
        request, session, who, alert_id, Change(Action.RESOLVE, note=body.note if body else None)
    )


@router.post("/{alert_id}/dismiss", summary="Dismiss as a false alert, with the reason", responses=_WORK)
async def dismiss(
    request: Request, session: SessionDep, who: CareTeamDep, alert_id: UUID, body: DismissIn
) -> AlertDetail:
    return await _work(request, session, who, alert_id, Change(Action.DISMISS, reason=body.reason))


@router.post(
    "/{alert_id}/assign",
    summary="Assign to a coordinator or clinician of the patient's team",
    responses=_WORK,
)
async def assign(
    request: Request, session: SessionDep, who: CareTeamDep, alert_id: UUID, body: AssignIn
) -> AlertDetail:
    return await _work(request, session, who, alert_id, Change(Action.ASSIGN, assignee=body.user_id))


@router.post("/{alert_id}/snooze", summary="Take out of the queue until a time", responses=_WORK)
async def snooze(
    request: Request, session: SessionDep, who: CareTeamDep, alert_id: UUID, body: SnoozeIn
) -> AlertDetail:
    return await _work(request, session, who, alert_id, Change(Action.SNOOZE, until=body.until))


@router.post("/{alert_id}/comments", summary="Add a comment", responses=_WORK)
async def comment(
    request: Request, session: SessionDep, who: CareTeamDep, alert_id: UUID, body: CommentIn
) -> AlertDetail:
    return await _work(request, session, who, alert_id, Change(Action.COMMENT, note=body.text))
