"""FHIR Subscriptions for alert changes (R4 topic-based Subscriptions Backport): the topic, and
Subscription create, read, search, delete and ``$status`` for a site's administrators.

Notifications go through the webhook outbox (``alerts.webhooks``): the same retries, signature
(``X-RPM-Signature`` with the secret returned once, at creation) and address checks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request

from monitoring.alerts import destinations, webhook_repository
from monitoring.api.deps import SessionDep, SettingsDep
from monitoring.api.fhir_http import FHIR_ERRORS, FHIR_JSON, FhirResponse, fhir_base
from monitoring.api.schemas.fhir import Bundle, Resource
from monitoring.api.security import AdminDep, visible_patient
from monitoring.errors import NotFoundError
from monitoring.fhir import resources, subscriptions

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])
SECRET_EXTENSION = "urn:rpm:webhook-signing-secret"


def _responses(schema: str, description: str) -> dict[int | str, dict[str, Any]]:
    content = {FHIR_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    return {**FHIR_ERRORS, 200: {"description": description, "content": content}}


@router.get(
    "/SubscriptionTopic",
    summary="The subscription topics (one: alert changes)",
    response_model=Bundle,
    responses=_responses("Bundle", "A searchset of the topics."),
)
async def search_topics(request: Request) -> FhirResponse:
    base = fhir_base(request)
    links = [{"relation": "self", "url": f"{base}/SubscriptionTopic"}]
    return FhirResponse(resources.bundle([subscriptions.topic(base)], base=base, links=links, total=1))


@router.get(
    "/SubscriptionTopic/{topic_id}",
    summary="Read a subscription topic",
    response_model=Resource,
    responses=_responses("Resource", "The topic."),
)
async def read_topic(request: Request, topic_id: str) -> FhirResponse:
    if topic_id != subscriptions.TOPIC_ID:
        raise NotFoundError(
            f"SubscriptionTopic/{topic_id} does not exist; the topic is {subscriptions.TOPIC_ID}"
        )
    return FhirResponse(subscriptions.topic(fhir_base(request)))


@router.post(
    "/Subscription",
    status_code=201,
    summary="Subscribe an endpoint to alert changes (administrators)",
    response_model=Resource,
    responses={
        **FHIR_ERRORS,
        201: {
            "description": f"The subscription, requested until its endpoint takes the handshake; "
            f"the {SECRET_EXTENSION} extension carries the signing secret, shown only here.",
            "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/Resource"}}},
        },
    },
)
async def create_subscription(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    resource: Annotated[dict[str, Any], Body(description="A Subscription (Backport profile).")],
) -> FhirResponse:
    base = fhir_base(request)
    wanted = subscriptions.read_request(resource, base)
    await destinations.check(
        wanted.endpoint,
        allow_loopback=settings.alerts.webhook_allow_loopback,
        require_https=settings.environment == "production",
        resolve=request.app.state.resolver,
    )
    if wanted.patient_id is not None:
        await visible_patient(request=request, session=session, principal=admin, patient_id=wanted.patient_id)
    hook = await webhook_repository.create_subscription(
        session=session, site_id=admin.site_id, wanted=wanted, base=base
    )
    created = subscriptions.resource(subscriptions.state_of(hook))
    created["extension"] = [{"url": SECRET_EXTENSION, "valueString": hook.secret}]
    return FhirResponse(created, status_code=201, headers={"Location": f"{base}/Subscription/{hook.id}"})


@router.get(
    "/Subscription",
    summary="The site's subscriptions (administrators)",
    response_model=Bundle,
    responses=_responses("Bundle", "A searchset of the subscriptions."),
)
async def search_subscriptions(request: Request, session: SessionDep, admin: AdminDep) -> FhirResponse:
    base = fhir_base(request)
    hooks = await webhook_repository.of_site(session=session, site_id=admin.site_id, kind="fhir")
    found = [subscriptions.resource(subscriptions.state_of(h)) for h in hooks]
    links = [{"relation": "self", "url": f"{base}/Subscription"}]
    return FhirResponse(resources.bundle(found, base=base, links=links, total=len(found)))


async def _state(
    session: SessionDep, admin: AdminDep, subscription_id: UUID
) -> subscriptions.SubscriptionState:
    """The admin's site's subscription of that id (404 otherwise), as the API shows it."""
    hook = await webhook_repository.subscription(
        session=session, site_id=admin.site_id, subscription_id=subscription_id
    )
    return subscriptions.state_of(hook)


StateDep = Annotated[subscriptions.SubscriptionState, Depends(_state)]


@router.get(
    "/Subscription/{subscription_id}",
    summary="Read a subscription (administrators)",
    response_model=Resource,
    responses=_responses("Resource", "The subscription."),
)
async def read_subscription(state: StateDep) -> FhirResponse:
    return FhirResponse(subscriptions.resource(state))


@router.get(
    "/Subscription/{subscription_id}/$status",
    summary="A subscription's status: events sent since it started (administrators)",
    response_model=Bundle,
    responses=_responses("Bundle", "A searchset holding the status Parameters."),
)
async def subscription_status(state: StateDep) -> FhirResponse:
    return FhirResponse(subscriptions.status_bundle(state))


@router.delete(
    "/Subscription/{subscription_id}",
    summary="End a subscription: nothing more is sent (administrators)",
    response_model=Resource,
    responses=_responses("Resource", "The subscription, now off."),
)
async def delete_subscription(session: SessionDep, admin: AdminDep, state: StateDep) -> FhirResponse:
    await webhook_repository.end_subscription(
        session=session, site_id=admin.site_id, subscription_id=state.id
    )
    return FhirResponse(subscriptions.resource(replace(state, status="off")))
