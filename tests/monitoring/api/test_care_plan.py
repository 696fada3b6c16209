"""Care plans: set at enrolment, overridden per patient by a clinician, reset to the default, and
used by detection."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from monitoring.access.principal import Role
from monitoring.domain import Condition
from monitoring.storage.db import Database
from monitoring.storage.models import Alert
from tests.api_support import api_client
from tests.factories import enrol, heart_rates, readings_payload, team, user
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


def _limits(patient: dict[str, object], series: str) -> tuple[object, object]:
    (entry,) = [t for t in patient["care_plan"] if t["series"] == series]  # type: ignore[attr-defined]
    return entry["low"], entry["high"]


async def _alerts_after(database: Database, serial: str, rates: list[float]) -> list[str]:
    await make_pipeline(database).process(
        [inbound(serial, readings_payload(serial, 1, heart_rates(rates)))], Acks()
    )
    async with database.sessions() as session:
        return list((await session.scalars(select(Alert.alert_type))).all())


async def test_a_clinician_overrides_a_limit_and_detection_uses_it(database: Database) -> None:
    care_team = await team(database)
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE], care_team_id=care_team)
    clinician = await user(database, Role.CLINICIAN, [care_team])
    coordinator = await user(database, Role.COORDINATOR, [care_team])
    path = f"/api/v1/patients/{patient.patient_id}/care-plan/heart_rate"
    limits = {"low": 50, "high": 120, "severity": "high", "persist_readings": 3}
    async with api_client(database, as_user=coordinator) as client:
        refused = await client.put(path, json=limits)
    async with api_client(database, as_user=clinician) as client:
        nonsense = await client.put(path, json={**limits, "low": 130})
        changed = await client.put(path, json=limits)
        shown = (await client.get(f"/api/v1/patients/{patient.patient_id}")).json()
    assert (refused.status_code, nonsense.status_code, changed.status_code) == (403, 400, 200)
    assert "below" in nonsense.json()["error"]["message"]
    assert _limits(shown, "heart_rate") == (50, 120)
    # 48 /min is fine by the heart-failure default (45) but below this patient's 50.
    assert await _alerts_after(database, patient.serial, [48, 48, 48, 48]) == ["threshold.heart_rate.low"]
    async with api_client(database, as_user=clinician) as client:
        plan = (await client.delete(path)).json()
    (rate,) = [t for t in plan if t["series"] == "heart_rate"]
    assert rate["low"] == 45


async def test_enrolment_takes_care_plan_overrides(database: Database) -> None:
    body = {
        "mrn": "CP-1",
        "display_name": "Grace",
        "conditions": ["copd"],
        "care_plan": [{"series": "spo2", "low": 86, "severity": "high", "persist_readings": 5}],
    }
    async with api_client(database, as_user=await user(database, Role.ADMIN)) as client:
        created = (await client.post("/api/v1/patients", json=body)).json()
        bad = await client.post(
            "/api/v1/patients", json={**body, "mrn": "CP-2", "care_plan": [{"series": "spo2"}]}
        )
    assert _limits(created, "spo2") == (86, None)
    assert bad.status_code == 400
