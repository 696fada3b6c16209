"""Dependencies shared by the routers, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.api.probes import Probes
from monitoring.config import Settings
from monitoring.storage.db import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_probes(request: Request) -> Probes:
    probes: Probes = request.app.state.probes
    return probes


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ProbesDep = Annotated[Probes, Depends(get_probes)]


async def get_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the handler returns, rolled back on error."""
    async with database.unit_of_work() as session:
        yield session


# Committed before the answer is sent ("function" scope): a caller that got 200 finds its change
# in the next request, and a commit that fails answers as the error it is, never as a success.
# (FastAPI's default ends a yield dependency after the response is sent.)
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    offset: int


def get_page(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Items per page.")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=min(limit, settings.api.max_page_size), offset=offset)


PageDep = Annotated[PageParams, Depends(get_page)]
