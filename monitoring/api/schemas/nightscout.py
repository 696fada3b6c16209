"""API models of Nightscout uploader registration (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from monitoring.api.schemas.patients import DeviceOut


class UploaderCredentials(BaseModel):
    device: DeviceOut
    base_url: str = Field(description="The Nightscout URL to set in the uploader app.")
    api_secret: str = Field(
        description="Shown only in this response. Apps send its SHA-1 hex in the api-secret header."
    )
    token: str = Field(description="Shown only in this response: an access token, for apps that take one.")
    registered_at: datetime


class UploaderRevoked(BaseModel):
    device: DeviceOut
    revoked: bool = Field(description="False when the device had no uploader.")


class NightscoutError(BaseModel):
    """How a Nightscout uploader address refuses: Nightscout's own error shape."""

    status: int
    message: str = Field(description="The HTTP reason phrase.")
    description: str = Field(description="What was wrong, and which entry or parameter.")


class ServerStatus(BaseModel):
    status: str
    name: str
    version: str = Field(description="The Nightscout API level answered (v1 REST).")
    serverTime: str  # noqa: N815 - Nightscout's field names
    serverTimeEpoch: int  # noqa: N815
    apiEnabled: bool  # noqa: N815
    careportalEnabled: bool  # noqa: N815
    boluscalcEnabled: bool  # noqa: N815
    settings: dict[str, Any]
    extendedSettings: dict[str, Any]  # noqa: N815
    authorized: None = None


class AuthCheck(BaseModel):
    status: int
    message: dict[str, Any]


class Deleted(BaseModel):
    n: int
    ok: int
