"""Turns detector findings into alerts.

Rules, in the manner of ThingsBoard's alarms:
- at most one active (open or acknowledged) alert per patient and alert type;
  a new episode while it is active repeats it (occurrences + 1) instead of
  opening another;
- an episode is identified by its start time, so replaying readings after a
  restart never opens a second alert for an episode already alerted on, even
  if that alert has since been resolved;
- the end of an episode marks the alert cleared; closing it stays a human act,
  unless the service is configured to resolve alerts whose episode ended
  (``resolve_on_clear``, as Nightscout's alarms clear themselves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.alerts import repository
from monitoring.detection.findings import Finding, FindingKind
from monitoring.domain import ACTIVE_ALERT_STATUSES, AlertStatus, Severity
from monitoring.storage.models import Alert


@dataclass(frozen=True, slots=True)
class AlertChange:
    """What happened to an alert, for whoever streams alert events."""

    alert_id: UUID
    patient_id: UUID
    kind: str  # opened, repeated, updated, cleared, resolved
    severity: Severity
    alert_type: str
    summary: str


def _is_active(alert: Alert | None) -> bool:
    return alert is not None and alert.status in ACTIVE_ALERT_STATUSES


def _higher(a: str, b: Severity) -> str:
    return a if Severity(a).rank >= b.rank else b.value


async def apply_findings(
    *,
    session: AsyncSession,
    findings: Sequence[Finding],
    now: datetime | None = None,
    resolve_on_clear: bool = False,
) -> list[AlertChange]:
    """Apply findings in order; return the changes made. The caller commits."""
    if not findings:
        return []
    now = now or datetime.now(UTC)
    keys = {(f.patient_id, f.alert_type) for f in findings}
    current = await repository.latest_by_key(session=session, keys=keys)
    changes: list[AlertChange] = []
    for finding in findings:
        key = (finding.patient_id, finding.alert_type)
        alert = current.get(key)
        change: str | None
        if finding.kind is FindingKind.OPEN:
            opened, change = _open(session, alert, finding, now)
            current[key] = alert = opened
        elif finding.kind is FindingKind.UPDATE:
            change = _update(alert, finding)
        else:
            change = _clear(alert, finding)
            if change is not None and alert is not None and resolve_on_clear:
                alert.status, alert.resolved_at = AlertStatus.RESOLVED.value, now
                change = "resolved"
        if change is None or alert is None:
            continue
        alert.updated_at = now
        if change != "updated":
            repository.add_event(
                session=session,
                alert=alert,
                kind=change,
                at=now,
                detail={
                    "episode_started_at": finding.episode_started_at.isoformat(),
                    "at": finding.at.isoformat(),
                },
            )
        changes.append(
            AlertChange(
                alert.id, alert.patient_id, change, Severity(alert.severity), alert.alert_type, alert.summary
            )
        )
    await session.flush()
    return changes


def _open(
    session: AsyncSession, alert: Alert | None, finding: Finding, now: datetime
) -> tuple[Alert, str | None]:
    if alert is not None and finding.episode_started_at <= alert.last_episode_started_at:
        # An episode this alert already covers (a replay): refresh evidence if newer.
        return alert, _update(alert, finding)
    if _is_active(alert):
        assert alert is not None
        alert.occurrences += 1
        alert.last_episode_started_at = finding.episode_started_at
        alert.cleared_at = None
        _refresh(alert, finding)
        return alert, "repeated"
    created = Alert(
        id=uuid4(),
        patient_id=finding.patient_id,
        alert_type=finding.alert_type,
        detector=finding.detector,
        series=int(finding.series) if finding.series is not None else None,
        severity=finding.severity.value,
        status=AlertStatus.OPEN.value,
        summary=finding.summary,
        explanation=finding.explanation,
        opened_at=now,
        episode_started_at=finding.episode_started_at,
        last_episode_started_at=finding.episode_started_at,
        last_triggered_at=finding.at,
        occurrences=1,
    )
    session.add(created)
    return created, "opened"


def _refresh(alert: Alert, finding: Finding) -> None:
    alert.severity = _higher(alert.severity, finding.severity)
    alert.summary = finding.summary
    alert.explanation = finding.explanation
    alert.last_triggered_at = finding.at


def _update(alert: Alert | None, finding: Finding) -> str | None:
    if (
        alert is None
        or not _is_active(alert)
        or alert.last_episode_started_at != finding.episode_started_at
        or finding.at < alert.last_triggered_at
    ):
        return None
    _refresh(alert, finding)
    return "updated"


def _clear(alert: Alert | None, finding: Finding) -> str | None:
    if (
        alert is None
        or not _is_active(alert)
        or alert.last_episode_started_at != finding.episode_started_at
        or alert.cleared_at is not None
    ):
        return None
    alert.cleared_at = finding.at
    return "cleared"
