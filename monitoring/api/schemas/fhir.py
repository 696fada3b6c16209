"""API models: FHIR resources as the OpenAPI document shows them (built in ``monitoring.fhir``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Bundle(BaseModel):
    """A FHIR R4 searchset Bundle: links (self, next, previous), total and the page's entries."""

    model_config = ConfigDict(extra="allow")
    resourceType: str = "Bundle"
    type: str = "searchset"
    link: list[dict[str, str]]
    total: int | None = None
    entry: list[dict[str, Any]] = []


class Resource(BaseModel):
    """One FHIR R4 resource (Patient, Observation, Flag, Device or CapabilityStatement)."""

    model_config = ConfigDict(extra="allow")
    resourceType: str
    id: str | None = None


class OperationOutcome(BaseModel):
    """A FHIR error: issue[].severity, code and diagnostics (what went wrong, in words)."""

    model_config = ConfigDict(extra="allow")
    resourceType: str = "OperationOutcome"
    issue: list[dict[str, Any]]


class BulkFile(BaseModel):
    type: str
    url: str
    count: int


class BulkManifest(BaseModel):
    """A finished Bulk Data export: its files, fetched with the same bearer token."""

    transactionTime: str
    request: str
    requiresAccessToken: bool
    output: list[BulkFile]
    error: list[BulkFile]
