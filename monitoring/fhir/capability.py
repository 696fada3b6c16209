"""The CapabilityStatement: exactly what this FHIR API serves, for clients that read it first."""

from __future__ import annotations

from typing import Any

from monitoring.fhir.paging import PAGE_PARAM
from monitoring.fhir.subscriptions import BACKPORT, topic_url

FHIR_VERSION = "4.0.1"
BULK = "http://hl7.org/fhir/uv/bulkdata"
TOPIC_CANONICAL = f"{BACKPORT}/capabilitystatement-subscriptiontopic-canonical"
STATUS_OPERATION = (
    "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status"
)
PUBLISHED = "2026-12-04"  # when this statement last changed
_TOKEN, _REFERENCE, _DATE, _STRING = "token", "reference", "date", "string"
_PAGING = [
    ("_count", "number", "Entries per page (0 to 1000; 0 gives only the total)."),
    ("_total", _TOKEN, "accurate (default), estimate or none."),
    (PAGE_PARAM, _STRING, "The page token of a Bundle's next or previous link."),
]
_READ_SEARCH = ("read", "search-type")
_RESOURCES: list[tuple[str, list[tuple[str, str, str]], tuple[str, ...]]] = [
    (
        "Patient",
        [
            ("_id", _TOKEN, "The patient's id."),
            ("identifier", _TOKEN, "The MRN, bare or as urn:rpm:site:<site code>:mrn|<MRN>."),
            ("name", _STRING, "A part of the name."),
        ],
        _READ_SEARCH,
    ),
    (
        "Observation",
        [
            ("patient", _REFERENCE, "Required: the patient's id."),
            ("code", _TOKEN, "LOINC, bare or http://loinc.org|<code>; commas mean or."),
            ("date", _DATE, "With ge, gt, le or lt; default the last 92 days."),
        ],
        _READ_SEARCH,
    ),
    (
        "Flag",
        [("patient", _REFERENCE, "Required: the patient's id. Alerts as Flags, newest first.")],
        _READ_SEARCH,
    ),
    (
        "Device",
        [
            ("patient", _REFERENCE, "The patient's id."),
            ("identifier", _TOKEN, "The serial, bare or as urn:rpm:device-serial|<serial>."),
        ],
        _READ_SEARCH,
    ),
    ("Group", [], ()),  # care teams, for group-export only
    ("SubscriptionTopic", [], _READ_SEARCH),
    ("Subscription", [], ("read", "search-type", "create", "delete")),
]
_UNPAGED = ("SubscriptionTopic", "Subscription")  # a handful per site: one page


def capability_statement(base: str, version: str) -> dict[str, Any]:
    resources = []
    for kind, params, interactions in _RESOURCES:
        entry: dict[str, Any] = {
            "type": kind,
            "versioning": "no-version",
            "readHistory": False,
        }
        if interactions:
            entry["interaction"] = [{"code": code} for code in interactions]
        searched = [*params, *([] if kind in _UNPAGED or not interactions else _PAGING)]
        if searched:
            entry["searchParam"] = [
                {"name": name, "type": kind_of, "documentation": text} for name, kind_of, text in searched
            ]
        if kind == "Observation":
            entry["operation"] = [
                {"name": "lastn", "definition": "http://hl7.org/fhir/OperationDefinition/Observation-lastn"}
            ]
        if kind in ("Patient", "Group"):
            name = f"{kind.lower()}-export"
            entry["operation"] = [{"name": name, "definition": f"{BULK}/OperationDefinition/{name}"}]
        if kind == "Subscription":
            entry["extension"] = [{"url": TOPIC_CANONICAL, "valueCanonical": topic_url(base)}]
            entry["operation"] = [{"name": "status", "definition": STATUS_OPERATION}]
            entry["documentation"] = (
                "Administrators only. rest-hook channels; payload content empty, id-only or "
                "full-resource; heartbeat period; filter Flag?patient=<id>. Notifications are signed "
                "(X-RPM-Signature) and retried as webhooks are."
            )
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": PUBLISHED,
        "publisher": "Remote monitoring",
        "kind": "instance",
        "software": {"name": "rpm-monitoring", "version": version},
        "implementation": {
            "description": "Remote patient monitoring: readings, alerts, patients, devices",
            "url": base,
        },
        "instantiates": [f"{BULK}/CapabilityStatement/bulk-data"],
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only. Every resource is limited to the caller's reach: an "
                "administrator's site, a coordinator's or clinician's care teams; anything else is 404.",
                "security": {
                    "cors": True,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                            "text": "Bearer token",
                        }
                    ],
                    "description": "A bearer token from POST /api/v1/auth/token (OAuth 2 password grant).",
                },
                "resource": resources,
                "operation": [{"name": "export", "definition": f"{BULK}/OperationDefinition/export"}],
            }
        ],
    }
