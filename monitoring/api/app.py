"""The FastAPI application: routers, error mapping and the components it reads from."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from monitoring.api.errors import install_error_handlers
from monitoring.api.probes import Probes
from monitoring.api.routers import alerts, dead_letters, health, patients
from monitoring.config import Settings
from monitoring.storage.db import Database

API_PREFIX = "/api/v1"


def create_app(*, settings: Settings, database: Database, probes: Probes) -> FastAPI:
    """Build the API. Whoever runs it owns the database and the other components' lifecycles."""
    app = FastAPI(
        title="Remote patient monitoring: care-team API",
        version="1",
        description=(
            "Patients with chronic disease monitored at home. Readings are standardised "
            "(LOINC codes, UCUM units); every alert carries the reason it was raised."
        ),
    )
    app.state.settings = settings
    app.state.database = database
    app.state.probes = probes
    install_error_handlers(app)
    app.include_router(health.router)
    api = APIRouter(prefix=API_PREFIX)
    for router in (patients.router, alerts.router, dead_letters.router):
        api.include_router(router)
    app.include_router(api)
    return app
