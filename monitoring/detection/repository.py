"""All SQL of detection: detector checkpoints, and what the data-gap heartbeat reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from devices.kinds import DeviceKind
from monitoring.detection.detectors.gaps import ALERT_PREFIX, ActiveGap, DeviceSeen
from monitoring.domain import ACTIVE_ALERT_STATUSES, DeviceState, PatientState, Severity, time_zone
from monitoring.storage.models import Alert, DetectorCheckpoint, Device, Patient


async def save_checkpoints(
    *, session: AsyncSession, states: Mapping[UUID, dict[str, Any]], at: datetime
) -> int:
    """Save the state of the patients in ``states`` that are enrolled; return how many were saved.

    The state of a patient the database does not know (readings of a patient
    enrolled elsewhere, a database restored from an older backup) is left out:
    one such state would otherwise fail every checkpoint and every partition
    hand-over of the worker that holds it.
    """
    if not states:
        return 0
    known = set(await session.scalars(select(Patient.id).where(Patient.id.in_(list(states)))))
    rows = [{"patient_id": p, "state": s, "saved_at": at} for p, s in states.items() if p in known]
    if not rows:
        return 0
    statement = insert(DetectorCheckpoint).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[DetectorCheckpoint.patient_id],
        set_={"state": statement.excluded.state, "saved_at": statement.excluded.saved_at},
    )
    await session.execute(statement)
    return len(rows)


async def load_checkpoints(*, session: AsyncSession) -> dict[UUID, dict[str, Any]]:
    result = await session.execute(select(DetectorCheckpoint.patient_id, DetectorCheckpoint.state))
    return {row[0]: row[1] for row in result.all()}


async def monitored_devices(*, session: AsyncSession) -> list[DeviceSeen]:
    """Active devices assigned to active patients, with when each was last heard from."""
    result = await session.execute(
        select(
            Device.id, Device.patient_id, Device.serial, Device.kind, Device.last_seen_at, Patient.time_zone
        )
        .join(Patient, Patient.id == Device.patient_id)
        .where(Device.status == DeviceState.ACTIVE.value, Patient.status == PatientState.ACTIVE.value)
    )
    return [
        DeviceSeen(device_id, patient_id, serial, DeviceKind(kind), last_seen, time_zone(zone))
        for device_id, patient_id, serial, kind, last_seen, zone in result.all()
        if patient_id is not None
    ]


async def active_gaps(*, session: AsyncSession) -> dict[tuple[UUID, str], ActiveGap]:
    result = await session.execute(
        select(Alert.patient_id, Alert.alert_type, Alert.severity, Alert.last_episode_started_at).where(
            Alert.alert_type.startswith(ALERT_PREFIX),
            Alert.status.in_([s.value for s in ACTIVE_ALERT_STATUSES]),
            Alert.cleared_at.is_(None),
        )
    )
    return {
        (patient_id, alert_type): ActiveGap(2 if Severity(severity).rank >= 3 else 1, since)
        for patient_id, alert_type, severity, since in result.all()
    }
