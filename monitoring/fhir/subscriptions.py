"""FHIR Subscriptions for alert changes, as the R4 topic-based Subscriptions Backport IG shapes
them: the topic, a Subscription read from a client and written back, and the notification
Bundles (handshake, heartbeat, event-notification, and the ``$status`` answer).

Nothing here sends or stores: the webhook outbox delivers (``alerts.webhooks``) and its
repository keeps the subscription (a webhook of kind ``fhir``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from monitoring.errors import InvalidRequestError
from monitoring.storage.models import Webhook

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
TOPIC_ID = "alert-changes"
PAYLOADS = ("empty", "id-only", "full-resource")
MAX_HEARTBEAT_S = 24 * 3600
MIN_HEARTBEAT_S = 10
_HEARTBEAT, _CONTENT, _FILTER = (
    f"{BACKPORT}/backport-heartbeat-period",
    f"{BACKPORT}/backport-payload-content",
    f"{BACKPORT}/backport-filter-criteria",
)


def topic_url(base: str) -> str:
    return f"{base}/SubscriptionTopic/{TOPIC_ID}"


def topic(base: str) -> dict[str, Any]:
    """The one topic: any change of an alert (opened, acknowledged, assigned, escalated,
    commented, snoozed, resolved, dismissed), whose focus is the alert as a Flag."""
    return {
        "resourceType": "SubscriptionTopic",
        "id": TOPIC_ID,
        "url": topic_url(base),
        "title": "Alert changes",
        "status": "active",
        "description": "Every recorded change of an alert of a patient at the subscriber's site: "
        "opened, acknowledged, assigned, escalated, commented, snoozed, resolved or dismissed. "
        "The focus is the alert as a Flag.",
        "resourceTrigger": [
            {
                "description": "An alert changed",
                "resource": "http://hl7.org/fhir/StructureDefinition/Flag",
                "supportedInteraction": ["create", "update"],
            }
        ],
        "canFilterBy": [
            {
                "description": "The patient the alert is about.",
                "resource": "Flag",
                "filterParameter": "patient",
            }
        ],
        "notificationShape": [{"resource": "Flag"}],
    }


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    endpoint: str
    payload_content: str
    heartbeat_s: int | None
    headers: list[str]
    patient_id: UUID | None
    reason: str | None


def _extension(element: dict[str, Any] | None, url: str) -> dict[str, Any] | None:
    return next((e for e in (element or {}).get("extension", []) if e.get("url") == url), None)


def read_request(resource: Any, base: str) -> SubscriptionRequest:
    """What a client asks for; anything this server cannot honour is a 400 saying what."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Subscription":
        raise InvalidRequestError("the body must be a Subscription resource")
    if resource.get("criteria") != topic_url(base):
        raise InvalidRequestError(f"criteria must be the topic {topic_url(base)} (the only topic here)")
    channel = resource.get("channel")
    if not isinstance(channel, dict) or channel.get("type") != "rest-hook":
        raise InvalidRequestError("channel.type must be rest-hook (the only channel here)")
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidRequestError("channel.endpoint is required")
    if channel.get("payload", "application/fhir+json") not in ("application/fhir+json", "application/json"):
        raise InvalidRequestError("channel.payload must be application/fhir+json")
    content = _extension(channel.get("_payload"), _CONTENT)
    payload_content = content.get("valueCode") if content else "id-only"
    if payload_content not in PAYLOADS:
        raise InvalidRequestError(f"payload content must be one of {', '.join(PAYLOADS)}")
    beat = _extension(channel, _HEARTBEAT)
    heartbeat = beat.get("valueUnsignedInt") if beat else None
    if heartbeat is not None and not (
        isinstance(heartbeat, int) and MIN_HEARTBEAT_S <= heartbeat <= MAX_HEARTBEAT_S
    ):
        raise InvalidRequestError(f"heartbeat period must be {MIN_HEARTBEAT_S} to {MAX_HEARTBEAT_S} s")
    headers = channel.get("header", [])
    if not isinstance(headers, list) or not all(isinstance(h, str) and ":" in h for h in headers):
        raise InvalidRequestError('channel.header must be a list of "Name: value" strings')
    return SubscriptionRequest(
        endpoint=endpoint,
        payload_content=payload_content,
        heartbeat_s=heartbeat,
        headers=headers,
        patient_id=_patient_filter(_extension(resource.get("_criteria"), _FILTER)),
        reason=resource.get("reason") if isinstance(resource.get("reason"), str) else None,
    )


def _patient_filter(extension: dict[str, Any] | None) -> UUID | None:
    if extension is None:
        return None
    text = str(extension.get("valueString", ""))
    name, _, value = text.removeprefix("Flag?").partition("=")
    try:
        if name != "patient":
            raise ValueError(name)
        return UUID(value.removeprefix("Patient/"))
    except ValueError as error:
        raise InvalidRequestError("the only filter is Flag?patient=<patient id>") from error


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """A stored subscription as the API shows it (the secret never again)."""

    id: UUID
    base: str
    endpoint: str
    status: str
    payload_content: str
    heartbeat_s: int | None
    headers: list[str]
    patient_id: UUID | None
    reason: str | None
    events_since_start: int


def state_of(hook: Webhook) -> SubscriptionState:
    return SubscriptionState(
        id=hook.id,
        base=hook.fhir_base or "",
        endpoint=hook.url,
        status=hook.status,
        payload_content=hook.payload_content or "id-only",
        heartbeat_s=hook.heartbeat_s,
        headers=list(hook.headers or []),
        patient_id=hook.patient_id,
        reason=hook.reason,
        events_since_start=hook.events_since_start,
    )


def resource(state: SubscriptionState) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "type": "rest-hook",
        "endpoint": state.endpoint,
        "payload": "application/fhir+json",
        "_payload": {"extension": [{"url": _CONTENT, "valueCode": state.payload_content}]},
    }
    if state.heartbeat_s:
        channel["extension"] = [{"url": _HEARTBEAT, "valueUnsignedInt": state.heartbeat_s}]
    if state.headers:
        channel["header"] = [h.partition(":")[0] + ": ***" for h in state.headers]  # values stay secret
    found: dict[str, Any] = {
        "resourceType": "Subscription",
        "id": str(state.id),
        "meta": {"profile": [f"{BACKPORT}/backport-subscription"]},
        "status": state.status,
        "reason": state.reason or "Alert changes",
        "criteria": topic_url(state.base),
        "channel": channel,
    }
    if state.patient_id is not None:
        found["_criteria"] = {
            "extension": [{"url": _FILTER, "valueString": f"Flag?patient={state.patient_id}"}]
        }
    return found


def _status_parameters(
    state: SubscriptionState, kind: str, events: list[tuple[int, datetime, str]]
) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": f"{state.base}/Subscription/{state.id}"}},
        {"name": "topic", "valueCanonical": topic_url(state.base)},
        {"name": "status", "valueCode": state.status},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(state.events_since_start)},
    ]
    for number, at, flag_id in events:
        part: list[dict[str, Any]] = [
            {"name": "event-number", "valueString": str(number)},
            {"name": "timestamp", "valueInstant": at.isoformat()},
        ]
        if state.payload_content != "empty":
            part.append({"name": "focus", "valueReference": {"reference": f"{state.base}/Flag/{flag_id}"}})
        parameters.append({"name": "notification-event", "part": part})
    return {
        "resourceType": "Parameters",
        "meta": {"profile": [f"{BACKPORT}/backport-subscription-status-r4"]},
        "parameter": parameters,
    }


def notification(
    state: SubscriptionState,
    kind: str,
    *,
    at: datetime,
    event: tuple[int, datetime, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A notification Bundle (history): the status Parameters first, then for an event the Flag
    (its whole resource for full-resource, its address only for id-only)."""
    events = [] if event is None else [(event[0], event[1], str(event[2]["id"]))]
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{uuid4()}",
            "resource": _status_parameters(state, kind, events),
            "request": {"method": "GET", "url": f"{state.base}/Subscription/{state.id}/$status"},
            "response": {"status": "200"},
        }
    ]
    if event is not None and state.payload_content != "empty":
        flag = event[2]
        entry: dict[str, Any] = {"fullUrl": f"{state.base}/Flag/{flag['id']}"}
        if state.payload_content == "full-resource":
            entry["resource"] = flag
        entry["request"] = {"method": "PUT", "url": f"Flag/{flag['id']}"}
        entry["response"] = {"status": "200"}
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [f"{BACKPORT}/backport-subscription-notification-r4"]},
        "type": "history",
        "timestamp": at.isoformat(),
        "entry": entries,
    }


def status_bundle(state: SubscriptionState) -> dict[str, Any]:
    """The ``$status`` answer: a searchset holding the status Parameters (type query-status)."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid4()}",
                "resource": _status_parameters(state, "query-status", []),
                "search": {"mode": "match"},
            }
        ],
    }
