"""The patient panel in headless Chromium: a coordinator finds patients among many, at 1440x900
and on a 390x844 phone; glucose in the unit they choose; axe-core clean."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, ViewportSize, expect

from devices.contract import Reading
from monitoring.access.principal import Role
from monitoring.domain import Condition
from monitoring.reports.glance import refresh
from monitoring.storage.db import Database
from tests import factories
from tests.api_support import serving
from tests.e2e.browser import accessibility_violations, chromium, describe, screenshot
from tests.e2e.test_dashboard import PHONE, _fits_the_phone, _sign_in_with_the_keyboard, _username
from tests.factories import Enrolled, enrol, readings_payload
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
expect.set_options(timeout=15_000)
DESKTOP = ViewportSize(width=1440, height=900)
PATIENTS = 60  # more than one page of 50


async def _cohort(database: Database) -> tuple[str, list[Enrolled]]:
    team = await factories.team(database)
    coordinator = await factories.user(database, Role.COORDINATOR, [team])
    people = []
    for i in range(PATIENTS):
        diabetic = i % 3 == 0
        people.append(
            await enrol(
                database,
                conditions=[Condition.TYPE1_DIABETES] if diabetic else [Condition.HYPERTENSION],
                kind="cgm" if diabetic else "bp_cuff",
                care_team_id=team,
            )
        )
    now = datetime.now(UTC)
    messages = []
    for i, person in enumerate(people):
        if i % 3 == 0:  # two days of CGM every 30 min, a daily swing; the first patient runs low
            base = 75 if i == 0 else 140
            values = [base + 40 * math.sin(k / 8) for k in range(96)]
            readings = [
                Reading(
                    metric="glucose_cgm", unit="mg/dL", at=now - timedelta(minutes=30 * (96 - k)), value=v
                )
                for k, v in enumerate(values)
            ]
        else:
            readings = [
                Reading(
                    metric="blood_pressure",
                    unit="mm[Hg]",
                    at=now - timedelta(hours=h),
                    value=None,
                    systolic=128 + i % 20,
                    diastolic=82,
                )
                for h in (30, 20, 8)
            ]
        messages.append(inbound(person.serial, readings_payload(person.serial, 1, readings)))
    await make_pipeline(database).process(messages, Acks())
    async with database.unit_of_work() as session:
        await refresh(session=session, now=now)
    return await _username(database, coordinator), people


async def _accessible(page: Page) -> None:
    violations = await accessibility_violations(page)
    assert violations == [], describe(violations)


async def test_a_coordinator_finds_patients_in_a_panel_of_sixty(database: Database) -> None:
    username, people = await _cohort(database)
    async with serving(database) as address, chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await _sign_in_with_the_keyboard(page, address, username)
        await page.get_by_role("link", name="Patients").click()
        rows = page.locator("tr[data-patient]")
        await expect(rows).to_have_count(50)
        await expect(page.locator("#panel-count")).to_have_text(f"1–50 of {PATIENTS} patients")
        # Riskiest first: the patient whose glucose runs low is flagged and on top.
        await expect(rows.first).to_have_attribute("data-patient", str(people[0].patient_id))
        await expect(
            rows.first.get_by_role("img", name=re.compile("^Time in ranges: Very low"))
        ).to_be_visible()
        await expect(
            rows.first.get_by_role("img", name=re.compile("^CGM glucose, last 7 days"))
        ).to_be_visible()
        await expect(rows.first).to_contain_text("mg/dL")
        await screenshot(page, "panel-desktop")
        await _accessible(page)

        await page.get_by_role("button", name="Next page").click()
        await expect(rows).to_have_count(PATIENTS - 50)
        await expect(page.locator("#panel-count")).to_have_text(f"51–{PATIENTS} of {PATIENTS} patients")

        await page.get_by_label("Condition").select_option(label="Type 1 diabetes")
        await expect(page.locator("#panel-count")).to_have_text("1–20 of 20 patients")
        await page.get_by_label("Sort by").select_option(label="Time in range (lowest first)")
        await expect(rows.first).to_have_attribute("data-patient", str(people[0].patient_id))

        name = (await rows.nth(3).locator("a").inner_text()).strip()
        await page.get_by_label("Search").fill(name)
        await expect(rows.filter(has_text=name).first).to_be_visible()
        await expect(page.locator("#panel-count")).to_have_text(re.compile(r"^1–\d of \d patients$"))

        # Glucose in mmol/L for this user, kept by the server.
        await page.get_by_label("Glucose in").select_option("mmol/L")
        await expect(rows.first).to_contain_text("mmol/L")
        await expect(rows.first).not_to_contain_text("mg/dL")
        await screenshot(page, "panel-desktop-mmol")

        phone = await browser.new_page(viewport=PHONE)
        await _sign_in_with_the_keyboard(phone, address, username)
        await expect(phone.locator("#live-status")).to_have_text("Live")  # signed in, on the queue
        await phone.goto(f"http://{address}/app/#/patients")
        await expect(phone.locator("tr[data-patient]")).to_have_count(50)
        await expect(phone.locator("tr[data-patient]").first).to_contain_text("mmol/L")
        await _fits_the_phone(phone, "the patient panel")
        await screenshot(phone, "phone-panel")
        await _accessible(phone)
