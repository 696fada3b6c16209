"""The FastAPI application: routers, error mapping and the components it reads from."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from monitoring.access.audit import AccessEventBudget
from monitoring.access.throttle import LoginThrottle
from monitoring.alerts.destinations import Resolver, system_resolve
from monitoring.api.auditing import install_audit
from monitoring.api.errors import VALIDATION_RESPONSE, install_error_handlers
from monitoring.api.headers import SecurityHeaders
from monitoring.api.limits import InputLimits
from monitoring.api.probes import Probes
from monitoring.api.routers import (
    admin,
    alerts,
    auth,
    careplan,
    dead_letters,
    enrolment,
    fhir,
    fhir_bulk,
    fhir_read,
    fhir_subscriptions,
    health,
    live,
    nightscout,
    panel,
    patients,
    reports,
    triage,
)
from monitoring.api.schemas.common import ErrorBody
from monitoring.api.security import current_principal
from monitoring.api.stream import AlertHub
from monitoring.config import Settings
from monitoring.nightscout.gateway import ReadingsGateway
from monitoring.observability.metrics import install_metrics
from monitoring.storage.db import Database
from monitoring.web.pages import POLICY as PAGES_POLICY
from monitoring.web.pages import PREFIX as PAGES_PREFIX
from monitoring.web.pages import install_dashboard

API_PREFIX = "/api/v1"


def create_app(
    *,
    settings: Settings,
    database: Database,
    probes: Probes,
    resolver: Resolver = system_resolve,
    gateway: ReadingsGateway | None = None,
) -> FastAPI:
    """Build the API. Whoever runs it owns the database and the other components' lifecycles.

    ``resolver`` looks up webhook hosts (a test gives its own: this machine has no DNS).
    ``gateway`` hands Nightscout uploads to the broker; without one they are refused.
    """
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
    app.state.alert_hub = AlertHub(database)
    app.state.login_throttle = LoginThrottle(
        max_failures=settings.api.login_max_failures, window_s=settings.api.login_window_s
    )
    app.state.access_event_budget = AccessEventBudget()
    app.state.resolver = resolver
    app.state.gateway = gateway
    install_error_handlers(app)
    install_audit(app, database)
    app.include_router(health.router)
    app.include_router(_api())
    app.include_router(nightscout.router)  # signs in with the device's uploader secret, not a user
    install_dashboard(app)
    install_metrics(app)  # counts and timings only, no patient data
    _add_middleware(app, settings)
    return app


def _api() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX, responses=VALIDATION_RESPONSE)
    api.include_router(auth.router)
    api.include_router(fhir_read.meta_router)
    api.include_router(live.router)  # checks its token itself: the first message on the socket carries it
    # Everything else needs a signed-in user; routes narrow it further by role and care team.
    signed_in = APIRouter(
        dependencies=[Depends(current_principal)],
        responses={401: {"model": ErrorBody, "description": "Not signed in, or the token is not valid."}},
    )
    for domain in (
        panel,
        patients,
        careplan,
        reports,
        triage,
        alerts,
        admin,
        dead_letters,
        enrolment,
        fhir,
        fhir_bulk,
        fhir_read,
        fhir_subscriptions,
    ):
        signed_in.include_router(domain.router)
    api.include_router(signed_in)
    return api


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost last: security headers on every answer, body limits before any handler reads."""
    if settings.api.cors_origins:  # only the origins configured; no cookies, so no credentials
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(InputLimits, max_body_bytes=settings.api.max_body_bytes)
    app.add_middleware(
        SecurityHeaders,
        pages_prefix=PAGES_PREFIX,
        pages_policy=PAGES_POLICY,
        https=settings.environment == "production",
    )
