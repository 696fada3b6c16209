"""The data-gap heartbeat against the real PostgreSQL: warn, escalate, clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from monitoring.detection.detectors.gaps import DataGaps
from monitoring.jobs.detection import check_data_gaps
from monitoring.storage.db import Database
from monitoring.storage.models import Alert, Device
from tests.factories import enrol


async def _seen(database: Database, serial: str, at: datetime) -> None:
    async with database.unit_of_work() as session:
        await session.execute(update(Device).where(Device.serial == serial).values(last_seen_at=at))


async def _alerts(database: Database) -> list[Alert]:
    async with database.sessions() as session:
        return list((await session.execute(select(Alert))).scalars())


async def test_a_quiet_device_warns_then_escalates_then_clears(database: Database) -> None:
    patient = await enrol(database)
    now = datetime.now(UTC)
    quiet = await enrol(database)  # a device that never reported is being provisioned, not silent
    await _seen(database, patient.serial, now - timedelta(minutes=45))  # a wearable: 30 min expected
    gaps = DataGaps()
    changes = await check_data_gaps(database, gaps, now)
    assert [c.kind for c in changes] == ["opened"]
    (alert,) = await _alerts(database)
    assert alert.patient_id == patient.patient_id != quiet.patient_id
    assert alert.alert_type.startswith("device.data_gap.")
    assert alert.severity == "medium"
    assert "No data from" in alert.summary
    assert await check_data_gaps(database, gaps, now + timedelta(minutes=1)) == []
    await check_data_gaps(database, gaps, now + timedelta(minutes=20))
    (alert,) = await _alerts(database)
    assert alert.severity == "high"
    await _seen(database, patient.serial, now + timedelta(minutes=25))
    changes = await check_data_gaps(database, gaps, now + timedelta(minutes=26))
    assert [c.kind for c in changes] == ["cleared"]
