"""Two care teams at the test site, a patient with an open alert in each, and one user per role."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from monitoring.access.principal import Role
from monitoring.domain import Condition
from monitoring.storage.db import Database
from tests.factories import enrol, heart_rates, readings_payload, team, user
from tests.pipeline_support import Acks, inbound, make_pipeline


@dataclass(frozen=True, slots=True)
class World:
    patient: UUID  # in team A
    other_patient: UUID  # in team B
    users: dict[str, UUID]  # admin, coordinator, clinician (team A), outsider (team B), foreign_admin
    teams: tuple[UUID, UUID]  # A, B


async def build(database: Database) -> World:
    team_a, team_b = await team(database, "A"), await team(database, "B")
    mine = await enrol(database, conditions=[Condition.HEART_FAILURE], care_team_id=team_a)
    theirs = await enrol(database, conditions=[Condition.HEART_FAILURE], care_team_id=team_b)
    slow = heart_rates([38, 36, 35, 37, 36])
    await make_pipeline(database).process(
        [inbound(p.serial, readings_payload(p.serial, 1, slow)) for p in (mine, theirs)], Acks()
    )
    users = {
        "admin": await user(database, Role.ADMIN),
        "coordinator": await user(database, Role.COORDINATOR, [team_a]),
        "clinician": await user(database, Role.CLINICIAN, [team_a]),
        "outsider": await user(database, Role.COORDINATOR, [team_b]),
        "foreign_admin": await user(database, Role.ADMIN, site="OTHER"),
    }
    return World(mine.patient_id, theirs.patient_id, users, (team_a, team_b))
