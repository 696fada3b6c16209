"""A patient with hours of readings from two devices, for the FHIR tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from devices.contract import Reading
from monitoring.domain import Condition
from monitoring.registry.service import register_device
from monitoring.storage.db import Database
from tests.factories import Enrolled, enrol, heart_rates, readings_payload
from tests.monitoring.api.access_world import World
from tests.pipeline_support import Acks, inbound, make_pipeline

RATES, PRESSURES = 240, 5


async def monitored(database: Database, world: World) -> tuple[Enrolled, dict[tuple[str, str], Any]]:
    """A patient of team A with 240 minutes of heart rate and five blood pressures; what was
    stored, by (LOINC code, time)."""
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE], care_team_id=world.teams[0])
    async with database.unit_of_work() as session:
        cuff = await register_device(
            session=session, serial=f"{patient.serial}-cuff", kind="bp_cuff", patient_id=patient.patient_id
        )
    start = (datetime.now(UTC) - timedelta(hours=5)).replace(microsecond=0)
    rates = heart_rates([60 + i % 30 for i in range(RATES)], start=start)
    pressures = [
        Reading(
            metric="blood_pressure",
            unit="mm[Hg]",
            at=start + timedelta(hours=i),
            systolic=120 + i,
            diastolic=80,
        )
        for i in range(PRESSURES)
    ]
    await make_pipeline(database).process(
        [
            inbound(patient.serial, readings_payload(patient.serial, 1, rates)),
            inbound(cuff.serial, readings_payload(cuff.serial, 1, pressures)),
        ],
        Acks(),
    )
    stored: dict[tuple[str, str], Any] = {("8867-4", r.at.isoformat()): r.value for r in rates}
    stored |= {("85354-9", p.at.isoformat()): (p.systolic, p.diastolic) for p in pressures}
    return patient, stored
