"""API models for signing in, care teams, users and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitoring.access.passwords import MIN_LENGTH
from monitoring.access.principal import Role
from monitoring.alerts.destinations import shown
from monitoring.domain import GlucoseUnit
from monitoring.storage.models import User


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    site_id: UUID
    name: str


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=MIN_LENGTH, max_length=256)
    team_ids: list[UUID] = Field(default_factory=list, max_length=50)


class UserChange(BaseModel):
    """What an admin may change about a user; what is left out stays as it is."""

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = Field(
        default=None, description="False signs them out everywhere: tokens and live streams stop working."
    )
    team_ids: list[UUID] | None = Field(default=None, max_length=50, description="Replaces their teams.")


class UserOut(BaseModel):
    id: UUID
    site_id: UUID
    username: str
    display_name: str
    role: Role
    active: bool
    team_ids: list[UUID]
    glucose_unit: GlucoseUnit = Field(description="How this user reads glucose: mg/dL or mmol/L.")


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    glucose_unit: GlucoseUnit = Field(description="mg/dL or mmol/L; stored values stay in mg/dL.")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: UUID | None = Field(description="Empty when nobody was signed in (a refused token).")
    username: str | None = Field(description="For a sign-in, the name that was typed.")
    role: str | None
    action: str = Field(
        description="read, change, stream, sign_in, sign_in_failed, sign_in_locked or token_refused"
    )
    resource: str = Field(description="Method and path of the request.")
    patient_id: UUID | None
    patient_ids: list[UUID] | None = Field(description="The patients a list or search answer returned.")
    client: str | None = Field(description="The caller's address.")
    status: int
    detail: dict[str, Any] | None = Field(
        description="Why it was refused, the count of a list, or how many similar refusals were not written."
    )


class WebhookIn(BaseModel):
    url: str = Field(
        min_length=8, max_length=500, pattern=r"^https?://", description="Where alert changes are POSTed."
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    url: str = Field(description="Where alert changes are POSTed; a password in it is shown as ***.")
    active: bool
    created_at: datetime

    @field_validator("url")
    @classmethod
    def _mask(cls, url: str) -> str:
        return shown(url)


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery (X-RPM-Signature); shown only in this response.")


class MemberOut(BaseModel):
    id: UUID
    display_name: str
    role: Role


class OnCallOut(BaseModel):
    user_id: UUID
    display_name: str
    since: datetime | None


class TeamDetail(BaseModel):
    id: UUID
    name: str
    on_call: OnCallOut | None = Field(
        default=None, description="Who holds the on-call: escalations go to them."
    )
    members: list[MemberOut] = Field(description="Active coordinators and clinicians: who alerts can go to.")


def user_out(user: User, team_ids: list[Any]) -> UserOut:
    return UserOut(
        id=user.id,
        site_id=user.site_id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        active=user.active,
        team_ids=team_ids,
        glucose_unit=GlucoseUnit(user.glucose_unit),
    )
