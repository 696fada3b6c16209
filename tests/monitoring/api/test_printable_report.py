"""The printable report and the patient's time zone, read as a clinic reads them: the PDF's own text."""

from __future__ import annotations

import asyncio
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from devices.contract import Reading
from monitoring.detection.detectors.glucose import GlucoseEpisodes
from monitoring.domain import Condition
from monitoring.storage.db import Database
from tests.api_support import api_client
from tests.factories import enrol, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration

TOKYO = ZoneInfo("Asia/Tokyo")
# Ten 5-minute CGM readings: <54 one, 54-69 two, 70-180 three, 181-250 two, >250 two; mean 155.7.
VALUES = [50, 60, 65, 100, 120, 180, 181, 250, 251, 300]
ARTIFACTS = Path(os.environ.get("RPM_TEST_ARTIFACTS", Path(__file__).parents[3] / "test-artifacts"))


async def _patient_in_tokyo(database: Database) -> tuple[str, datetime]:
    patient = await enrol(database, conditions=[Condition.TYPE1_DIABETES], kind="cgm", time_zone="Asia/Tokyo")
    t0 = (datetime.now(UTC) - timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    readings = [
        Reading(metric="glucose_cgm", unit="mg/dL", at=t0 + timedelta(minutes=5 * i), value=v)
        for i, v in enumerate(VALUES)
    ]
    await make_pipeline(database, detectors=[GlucoseEpisodes()]).process(
        [inbound(patient.serial, readings_payload(patient.serial, 1, readings))], Acks()
    )
    return str(patient.patient_id), t0


async def test_reports_default_to_the_patients_zone(database: Database) -> None:
    patient_id, t0 = await _patient_in_tokyo(database)
    async with api_client(database) as client:
        record = (await client.get(f"/api/v1/patients/{patient_id}")).json()
        glucose = (await client.get(f"/api/v1/patients/{patient_id}/reports/glucose")).json()
        in_utc = (
            await client.get(f"/api/v1/patients/{patient_id}/reports/glucose", params={"tz": "UTC"})
        ).json()
        alerts = (await client.get("/api/v1/alerts", params={"patient_id": patient_id})).json()["items"]
    assert record["time_zone"] == "Asia/Tokyo"
    assert glucose["time_zone"] == "Asia/Tokyo"
    (hour,) = [h["hour"] for h in glucose["agp"] if h["count"]]
    assert hour == t0.astimezone(TOKYO).hour == 23  # 14:00 UTC
    assert [h["hour"] for h in in_utc["agp"] if h["count"]] == [14]
    # The low's explanation gives its start in Tokyo time and says so.
    began = f"{t0.astimezone(TOKYO):%Y-%m-%d %H:%M} Asia/Tokyo"
    assert any(began in a["summary"] for a in alerts), [a["summary"] for a in alerts]
    assert not any(" UTC" in a["summary"] for a in alerts)


async def test_enrolment_refuses_an_unknown_zone(database: Database) -> None:
    async with api_client(database) as client:
        refused = await client.post(
            "/api/v1/patients",
            json={"mrn": "TZ-1", "display_name": "Zone Less", "time_zone": "Mars/Olympus"},
        )
    assert refused.status_code == 422
    assert "unknown time zone 'Mars/Olympus'" in refused.text


async def test_the_printable_report_says_what_the_reports_say(database: Database) -> None:
    patient_id, t0 = await _patient_in_tokyo(database)
    path = f"/api/v1/patients/{patient_id}/reports/summary.pdf"
    end = (t0 + timedelta(days=1)).isoformat()
    async with api_client(database) as client:
        response = await client.get(path, params={"end": end})
        mmol = await client.get(path, params={"end": end, "unit": "mmol/L"})
        bad = await client.get(path, params={"tz": "Mars/Olympus"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith('inline; filename="report-MRN-')
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2
    glucose, vitals = (" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Times in Asia/Tokyo" in glucose
    assert "Type 1 diabetes" in glucose
    assert "Continuous glucose monitor" in glucose
    assert "Mean glucose 156 mg/dL" in glucose
    for share in ("10.0 % target <1 %", "20.0 % target <4 %", "30.0 % target >70 %"):
        assert share in glucose
    assert "hour of day (Asia/Tokyo)" in glucose
    assert "Alerts in the period (1)" in vitals
    assert f"{t0.astimezone(TOKYO):%d %b %Y}" in vitals  # alert times in Tokyo
    assert "Days with readings 1 of the last 30" in vitals
    in_mmol = " ".join(PdfReader(io.BytesIO(mmol.content)).pages[0].extract_text().split())
    assert "Mean glucose 8.6 mmol/L" in in_mmol
    assert "In range 3.9-10.0 mmol/L" in in_mmol
    assert bad.status_code == 400
    await asyncio.to_thread(_keep, "printable-report.pdf", response.content)


def _keep(name: str, data: bytes) -> None:
    """A test artefact to look at (``pdftoppm -png`` turns the PDF into pictures)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)
