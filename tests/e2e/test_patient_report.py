"""One patient's page as a clinician files it: their time zone on every time, glucose in the reader's
unit, a print stylesheet, and the PDF report downloaded and read back; desktop and phone, axe clean."""

from __future__ import annotations

import io
import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect
from pypdf import PdfReader

from devices.contract import Reading
from monitoring.access.principal import Role
from monitoring.detection.detectors.glucose import GlucoseEpisodes
from monitoring.domain import Condition
from monitoring.storage.db import Database
from tests import factories
from tests.api_support import serving
from tests.e2e.browser import chromium, screenshot
from tests.e2e.test_dashboard import (
    PHONE,
    _accessible,
    _fits_the_phone,
    _sign_in_with_the_keyboard,
    _username,
)
from tests.e2e.test_panel import DESKTOP
from tests.factories import enrol, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
expect.set_options(timeout=15_000)


async def _patient_in_tokyo(database: Database) -> tuple[str, str]:
    team = await factories.team(database)
    clinician = await factories.user(database, Role.CLINICIAN, [team])
    patient = await enrol(
        database, conditions=[Condition.TYPE1_DIABETES], kind="cgm", care_team_id=team, time_zone="Asia/Tokyo"
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # Five days of CGM every 5 minutes with a daily swing, and a 45-minute low two days ago.
    values = [150 + 60 * math.sin(2 * math.pi * k / 288) for k in range(5 * 288)]
    for k in range(860, 869):
        values[k] = 62.0 - (k - 860) % 4
    readings = [
        Reading(
            metric="glucose_cgm", unit="mg/dL", at=now - timedelta(minutes=5 * (len(values) - k)), value=v
        )
        for k, v in enumerate(values)
    ]
    messages = [
        inbound(patient.serial, readings_payload(patient.serial, seq, readings[i : i + 288]))
        for seq, i in enumerate(range(0, len(readings), 288), start=1)
    ]
    await make_pipeline(database, detectors=[GlucoseEpisodes()]).process(messages, Acks())
    return await _username(database, clinician), str(patient.patient_id)


async def test_a_clinician_reads_prints_and_downloads_a_patients_report(database: Database) -> None:
    username, patient_id = await _patient_in_tokyo(database)
    async with serving(database) as address, chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP, accept_downloads=True)
        await _sign_in_with_the_keyboard(page, address, username)
        await page.get_by_label("Glucose in").select_option("mmol/L")
        await page.goto(f"http://{address}/app/#/patients/{patient_id}")
        facts = page.locator("dl.facts").first
        await expect(facts).to_contain_text("Asia/Tokyo")
        await expect(
            page.get_by_text("Times on this page are the patient's local time (Asia/Tokyo)")
        ).to_be_visible()
        await expect(
            page.get_by_role(
                "img", name=re.compile(r"^Ambulatory glucose profile by hour of day \(Asia.Tokyo\)")
            )
        ).to_be_visible()
        await expect(page.get_by_role("img", name=re.compile(r"In range 3\.9-10\.0 mmol.L"))).to_be_visible()
        glucose = page.get_by_role("region", name="Glucose", exact=True)
        await expect(glucose).to_contain_text("mmol/L")
        await expect(glucose).not_to_contain_text("mg/dL")
        history = page.get_by_role("region", name="Alert history")
        await expect(history.locator("tbody tr").first).to_contain_text(
            "Asia/Tokyo"
        )  # the opening time's zone
        await expect(history).to_contain_text("mmol/L")
        await expect(history).not_to_contain_text(" UTC")
        await screenshot(page, "patient-desktop-tokyo-mmol")
        await _accessible(page)

        # The PDF the API renders, as the button downloads it, read back.
        async with page.expect_download() as waiting:
            await page.get_by_role("button", name="PDF report").click()
        download = await waiting.value
        path = await download.path()
        text = " ".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(path.read_bytes())).pages)
        words = " ".join(text.split())
        assert "Times in Asia/Tokyo" in words
        assert re.search(r"Mean glucose \d+\.\d mmol/L", words), words[:400]
        assert "Alerts in the period (" in words

        # Printed: no navigation or controls; the charts and the history stay.
        await page.emulate_media(media="print")
        await expect(page.locator("nav")).to_be_hidden()
        await expect(page.get_by_role("button", name="PDF report")).to_be_hidden()
        await expect(history).to_be_visible()
        await screenshot(page, "patient-print")
        await page.emulate_media(media="screen")

        phone = await browser.new_page(viewport=PHONE)
        await _sign_in_with_the_keyboard(phone, address, username)
        await expect(phone.get_by_label("Glucose in")).to_have_value("mmol/L")
        await phone.goto(f"http://{address}/app/#/patients/{patient_id}")
        await expect(phone.get_by_role("region", name="Alert history")).to_contain_text("Asia/Tokyo")
        await _fits_the_phone(phone, "the patient page")
        await screenshot(phone, "phone-patient-tokyo")
        await _accessible(phone)
