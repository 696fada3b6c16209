"""The care team and an alert: reading it with its history, and working it (each change checked,
applied and recorded with who and when)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access import repository as access
from monitoring.access.principal import CARE_ROLES, Principal
from monitoring.alerts.lifecycle import Action, after
from monitoring.alerts.repository import add_event, alert_with_patient, events_of
from monitoring.domain import AlertStatus
from monitoring.errors import InvalidRequestError, NotFoundError
from monitoring.storage.models import Alert, AlertEvent, Patient

MAX_SNOOZE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Change:
    action: Action
    note: str | None = None  # acknowledge, resolve, comment
    reason: str | None = None  # dismiss
    assignee: UUID | None = None  # assign
    until: datetime | None = None  # snooze


async def visible_alert(
    *, session: AsyncSession, principal: Principal, alert_id: UUID, lock: bool = False
) -> tuple[Alert, Patient]:
    """The alert and its patient if the caller may see them; 404 otherwise."""
    found = await alert_with_patient(session=session, alert_id=alert_id, lock=lock)
    if found is None or not principal.sees(found[1]):
        raise NotFoundError(f"alert {alert_id} does not exist or is not about a patient in your care teams")
    return found


async def apply(
    *, session: AsyncSession, principal: Principal, alert_id: UUID, change: Change, now: datetime
) -> Alert:
    alert, patient = await visible_alert(session=session, principal=principal, alert_id=alert_id, lock=True)
    status = after(change.action, AlertStatus(alert.status))
    detail: dict[str, Any] = {}
    if change.action is Action.ACKNOWLEDGE:
        alert.acknowledged_at = now
    elif change.action in (Action.RESOLVE, Action.DISMISS):
        alert.resolved_at = now
        alert.snoozed_until = None
        if change.action is Action.DISMISS:
            if not change.reason:
                raise InvalidRequestError("dismissing an alert as false needs a reason")
            alert.dismissed_reason = detail["reason"] = change.reason
    elif change.action is Action.ASSIGN:
        detail["assignee"] = str(await _check_assignee(session, patient, change.assignee))
        alert.assigned_to = change.assignee
    elif change.action is Action.SNOOZE:
        alert.snoozed_until = _check_snooze(change.until, now)
        detail["until"] = alert.snoozed_until.isoformat()
    if change.note:
        detail["note"] = change.note
    detail["from"] = alert.status
    alert.status = status.value
    alert.updated_at = now
    add_event(
        session=session,
        alert=alert,
        at=now,
        kind=change.action.value,
        actor=principal.username,
        detail=detail,
    )
    await session.flush()
    return alert


async def _check_assignee(session: AsyncSession, patient: Patient, assignee: UUID | None) -> UUID:
    if assignee is None:
        raise InvalidRequestError("assigning an alert needs the user_id of the person to assign it to")
    who = await access.principal_of(session=session, user_id=assignee)
    if who is None or who.role not in CARE_ROLES or not who.sees(patient):
        raise InvalidRequestError(
            f"user {assignee} cannot take this alert: they must be an active coordinator or clinician "
            "in the patient's care team"
        )
    return assignee


def _check_snooze(until: datetime | None, now: datetime) -> datetime:
    if until is None or until.tzinfo is None:
        raise InvalidRequestError("snoozing needs 'until', a time with its UTC offset")
    if not now < until <= now + MAX_SNOOZE:
        raise InvalidRequestError(f"snooze until a time in the future, at most {MAX_SNOOZE.days} days ahead")
    return until


@dataclass(frozen=True, slots=True)
class AlertRecord:
    alert: Alert
    events: Sequence[AlertEvent]


async def alert_record(*, session: AsyncSession, principal: Principal, alert_id: UUID) -> AlertRecord:
    """The alert with its history, if the caller may see it; 404 otherwise."""
    alert, _ = await visible_alert(session=session, principal=principal, alert_id=alert_id)
    return AlertRecord(alert, await events_of(session=session, alert_id=alert_id))
