"""API models of Nightscout uploader registration (admins)."""

from __future__ import annotations

from datetime import datetime

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
