"""Read side of alerts for the care team."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access.principal import Principal
from monitoring.alerts import repository
from monitoring.alerts.work import visible_alert
from monitoring.storage.models import Alert, AlertEvent


@dataclass(frozen=True, slots=True)
class AlertRecord:
    alert: Alert
    events: Sequence[AlertEvent]


async def alert_record(*, session: AsyncSession, principal: Principal, alert_id: UUID) -> AlertRecord:
    alert, _ = await visible_alert(session=session, principal=principal, alert_id=alert_id)
    return AlertRecord(alert, await repository.events_of(session=session, alert_id=alert_id))
