"""Read side of alerts for the care team."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.alerts import repository
from monitoring.errors import NotFoundError
from monitoring.storage.models import Alert, AlertEvent


@dataclass(frozen=True, slots=True)
class AlertRecord:
    alert: Alert
    events: Sequence[AlertEvent]


async def alert_record(*, session: AsyncSession, alert_id: UUID) -> AlertRecord:
    alert = await repository.get_alert(session=session, alert_id=alert_id)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    return AlertRecord(alert, await repository.events_of(session=session, alert_id=alert_id))
