"""The operations surface of a process that serves no care-team API: health, readiness and metrics.

An ingestion worker runs this on ``RPM_INGEST__HTTP_PORT`` so an orchestrator
can see whether it is connected to the broker and the database, and Prometheus can
scrape its counters.
"""

from __future__ import annotations

from fastapi import FastAPI

from monitoring.api.probes import Probes
from monitoring.api.routers import health
from monitoring.observability.metrics import install_metrics


def create_ops_app(probes: Probes) -> FastAPI:
    app = FastAPI(title="Remote patient monitoring: worker health", version="1", openapi_url=None)
    app.state.probes = probes
    app.include_router(health.router)
    install_metrics(app)
    return app
