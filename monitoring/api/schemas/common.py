"""API models shared by every domain: the error body, pages, health and readiness."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from monitoring.api.probes import ComponentStatus

T = TypeVar("T")


class FieldProblem(BaseModel):
    location: str = Field(examples=["body.url"], description="Where in the request: query, path or body.")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    fields: list[FieldProblem] | None = Field(
        default=None, description="For a malformed request (422): each field that is wrong, and why."
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Items matching the filters, across all pages.")
    limit: int
    offset: int


class FromOrm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Health(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    ready: bool
    components: list[ComponentStatus]
