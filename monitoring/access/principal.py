"""The signed-in user as every request sees them, and what their role allows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ColumnElement, false

from monitoring.storage.models import Patient


class Role(StrEnum):
    ADMIN = "admin"  # enrols patients, provisions devices, manages users; sees their whole site
    COORDINATOR = "coordinator"  # works the alert queue of their teams' patients
    CLINICIAN = "clinician"  # reviews their teams' patients: trends, reports, alerts


CARE_ROLES = (Role.COORDINATOR, Role.CLINICIAN)  # the people who work alerts


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: UUID
    username: str
    role: Role
    site_id: UUID
    team_ids: frozenset[UUID]

    def sees(self, patient: Patient) -> bool:
        """Admins see their site; everyone else the patients of their care teams."""
        if self.role is Role.ADMIN:
            return patient.site_id == self.site_id
        return patient.care_team_id is not None and patient.care_team_id in self.team_ids

    def patient_scope(self) -> ColumnElement[bool]:
        """The same rule as a SQL condition on ``patients``."""
        if self.role is Role.ADMIN:
            return Patient.site_id == self.site_id
        if not self.team_ids:
            return false()
        return Patient.care_team_id.in_(self.team_ids)
