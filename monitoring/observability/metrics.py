"""Prometheus metrics of ingestion and detection (prometheus-client), served on /metrics.

Counts and timings only: no label carries a patient, a device or a value. Each
process exposes its own; Prometheus sums the workers.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

MESSAGES = Counter("rpm_ingest_messages", "MQTT messages taken from the broker and processed.")
MESSAGES_OTHERS = Counter(
    "rpm_ingest_messages_other_workers",
    "Messages of patients another ingestion worker owns, acknowledged unread (RPM_INGEST__PARTITIONS > 1).",
)
MESSAGES_ROUTED = Counter(
    "rpm_ingest_messages_routed",
    "Device messages this worker filed under their patient's partition (NATS JetStream ingestion).",
)
MESSAGES_MARKED_IN_PROGRESS = Counter(
    "rpm_ingest_messages_marked_in_progress",
    "JetStream messages held past a third of their ack wait and marked in progress (NATS: a worker behind).",
)
PARTITIONS_HELD = Gauge("rpm_ingest_partitions_held", "Partitions of patients this worker leases (NATS).")
READINGS_STORED = Counter("rpm_readings_stored", "Readings stored for the first time.")
READINGS_DUPLICATE = Counter("rpm_readings_duplicate", "Readings received again and not stored twice.")
DEAD_LETTERS = Counter("rpm_dead_letters", "Messages or readings refused into dead letters.", ["code"])
DEAD_LETTERS_UNSTORED = Counter(
    "rpm_dead_letters_unstored",
    "Refused messages or readings over a device's hourly dead-letter bound: counted, not kept.",
    ["code"],
)
RETAINED_READINGS = Counter(
    "rpm_retained_readings_cleared",
    "Retained copies of readings messages dropped and cleared on the broker (readings are never retained).",
)
AUTH_REFUSALS = Counter(
    "rpm_auth_refusals", "Failed sign-ins, lock-outs and refused tokens (all, audited or not).", ["action"]
)
STORE_SECONDS = Histogram(
    "rpm_batch_store_seconds",
    "Time to write one batch (readings, dead letters, devices); overlaps the previous batch's detection.",
    buckets=_LATENCY_BUCKETS,
)
DETECT_SECONDS = Histogram(
    "rpm_detect_seconds",
    "Time to evaluate one batch's new readings and write its alerts; the next batch is stored meanwhile.",
    buckets=_LATENCY_BUCKETS,
)
ALERT_CHANGES = Counter("rpm_alert_changes", "Alert changes written by detection.", ["kind"])
LAG_SECONDS = Histogram(
    "rpm_ingest_lag_seconds",
    "From a message's arrival at the worker to its readings being evaluated.",
    buckets=_LAG_BUCKETS,
)
STORE_AVAILABLE = Gauge("rpm_store_available", "1 while the database accepts writes, 0 during an outage.")
STORE_AVAILABLE.set(1)


def install_metrics(app: FastAPI) -> None:
    """``GET /metrics``: this process's metrics in the Prometheus text format (not in the OpenAPI)."""

    @app.get("/metrics", include_in_schema=False)
    def scrape() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
