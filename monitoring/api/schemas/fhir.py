"""API models: the FHIR Bundle as the OpenAPI document shows it (resources: monitoring.fhir)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Bundle(BaseModel):
    """A FHIR R4 Bundle of type searchset (entries are Observation or Flag resources)."""

    model_config = ConfigDict(extra="allow")
    resourceType: str = "Bundle"
    type: str = "searchset"
    entry: list[dict[str, Any]]
