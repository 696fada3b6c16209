"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status

from monitoring.api.deps import ProbesDep
from monitoring.api.probes import ComponentStatus
from monitoring.api.schemas.common import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", summary="The process is alive")
async def health() -> Health:
    return Health()


@router.get(
    "/ready",
    summary="Every component can do its job",
    responses={503: {"model": Readiness, "description": "A component is not ready."}},
)
async def ready(probes: ProbesDep, response: Response) -> Readiness:
    results: list[ComponentStatus] = list(await asyncio.gather(*(probe() for probe in probes)))
    ok = all(r.ok for r in results)
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(ready=ok, components=results)
