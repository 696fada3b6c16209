"""Escalation: an open alert nobody has acknowledged in time moves up a tier.

Each time an open alert has waited its current severity's limit (since it
opened, or since it last escalated) it escalates: its severity rises one step
(up to critical), its escalation level rises by one (the next tier: charge
nurse, on-call clinician, ...), and the change is recorded and announced.
Acknowledging stops it; a snoozed alert waits until its snooze ends.

Escalation goes to whoever holds the care team's on-call: the alert is assigned
to them (the event names them, and webhooks carry it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.alerts.repository import add_event, on_call_of, waiting_for_escalation
from monitoring.config import AlertSettings
from monitoring.domain import Severity

_UP = {Severity.LOW: Severity.MEDIUM, Severity.MEDIUM: Severity.HIGH, Severity.HIGH: Severity.CRITICAL}


@dataclass(frozen=True, slots=True)
class Escalation:
    alert_id: UUID
    patient_id: UUID
    alert_type: str
    level: int
    severity_from: Severity
    severity_to: Severity
    waited_s: int


async def escalate_due(*, session: AsyncSession, settings: AlertSettings, now: datetime) -> list[Escalation]:
    """Escalate every open alert whose wait is over; return what changed."""
    candidates = await waiting_for_escalation(session=session, max_level=settings.max_escalations, now=now)
    on_call = await on_call_of(session=session, patient_ids={a.patient_id for a in candidates})
    done: list[Escalation] = []
    for alert in candidates:
        since = alert.escalated_at or alert.opened_at
        if alert.snoozed_until is not None and alert.snoozed_until > since:
            since = alert.snoozed_until  # the wait starts again when a snooze ends
        waited = now - since
        if waited < timedelta(seconds=settings.wait_for(alert.severity)):
            continue
        before = Severity(alert.severity)
        after = _UP.get(before, before)
        alert.severity, alert.escalation_level = after.value, alert.escalation_level + 1
        alert.escalated_at = alert.updated_at = now
        detail: dict[str, object] = {
            "level": alert.escalation_level,
            "from_severity": before.value,
            "to_severity": after.value,
            "waited_s": int(waited.total_seconds()),
        }
        holder = on_call.get(alert.patient_id)
        if holder is not None:
            detail["on_call"] = str(holder)
            alert.assigned_to = holder
        add_event(session=session, alert=alert, at=now, kind="escalated", detail=detail)
        done.append(
            Escalation(
                alert.id,
                alert.patient_id,
                alert.alert_type,
                alert.escalation_level,
                before,
                after,
                int(waited.total_seconds()),
            )
        )
    await session.flush()
    return done


def summary(escalations: Sequence[Escalation]) -> str:
    return ", ".join(f"{e.alert_type} -> level {e.level} ({e.severity_to.value})" for e in escalations)
