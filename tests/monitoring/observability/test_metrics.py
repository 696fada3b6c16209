"""The counters Prometheus scrapes move with the pipeline's work, and both HTTP surfaces serve them."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from monitoring.api.ops import create_ops_app
from monitoring.domain import Condition
from monitoring.storage.db import Database
from tests.api_support import api_client, database_probe
from tests.factories import enrol, heart_rates, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counters() -> dict[str, float]:
    return {
        "messages": sample("rpm_ingest_messages_total"),
        "stored": sample("rpm_readings_stored_total"),
        "malformed": sample("rpm_dead_letters_total", code="malformed_json"),
        "opened": sample("rpm_alert_changes_total", kind="opened"),
        "batches": sample("rpm_batch_store_seconds_count"),
        "lag": sample("rpm_ingest_lag_seconds_count"),
    }


async def test_a_batch_moves_the_counters_and_the_worker_serves_them(database: Database) -> None:
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE])
    before = counters()
    batch = [
        inbound(patient.serial, readings_payload(patient.serial, 1, heart_rates([80, 38, 36, 35, 37, 36]))),
        inbound(patient.serial, b"{not json"),
    ]
    await make_pipeline(database).process(batch, Acks())
    after = counters()
    assert {k: after[k] - before[k] for k in before} == {
        "messages": 2,
        "stored": 6,
        "malformed": 1,
        "opened": 1,
        "batches": 1,
        "lag": 1,
    }

    worker = create_ops_app(database_probe(database))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=worker), base_url="http://worker"
    ) as client:
        text = (await client.get("/metrics")).text
    assert 'rpm_dead_letters_total{code="malformed_json"}' in text
    assert "rpm_store_available 1.0" in text
    assert patient.serial not in text, "no device or patient in a label"

    async with api_client(database, as_user=None) as anonymous:
        scraped = await anonymous.get("/metrics")
    assert scraped.status_code == 200
    assert "rpm_readings_stored_total" in scraped.text
