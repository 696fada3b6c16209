"""The dashboard in headless Chromium, against the real API, Mosquitto and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from playwright.async_api import Page, ViewportSize, expect
from sqlalchemy import select

from monitoring.access.principal import Role
from monitoring.domain import AlertStatus, Condition
from monitoring.storage.db import Database
from monitoring.storage.models import Alert, Device, Patient, User
from tests import factories
from tests.api_support import serving
from tests.e2e.browser import accessibility_violations, chromium, describe, screenshot
from tests.e2e.support import Broker, eventually, ingestion
from tests.factories import PASSWORD, enrol, heart_rates

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
expect.set_options(timeout=15_000)  # a loaded CI machine: waiting is cheap, flakiness is not
VIEWPORT = ViewportSize(width=1280, height=900)


async def _username(database: Database, user_id: UUID) -> str:
    async with database.sessions() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.username


# The browser's Notification API as a user who has allowed it: what the page shows is recorded.
NOTIFICATIONS_GRANTED = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push([title, options]); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""


def _collect_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def _sign_in_with_the_keyboard(page: Page, address: str, username: str) -> None:
    await page.goto(f"http://{address}/")
    await expect(page.locator("#username")).to_be_focused()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")


async def _accessible(page: Page) -> None:
    violations = await accessibility_violations(page)
    assert violations == [], describe(violations)


async def test_a_coordinator_sees_an_alert_arrive_live_acknowledges_it_and_opens_the_chart(
    database: Database, broker: Broker
) -> None:
    team = await factories.team(database)
    coordinator = await factories.user(database, Role.COORDINATOR, [team])
    patient = await enrol(database, conditions=[Condition.HEART_FAILURE], care_team_id=team)
    async with ingestion(database, broker), serving(database) as address, chromium() as browser:
        page = await browser.new_page(viewport=VIEWPORT)
        await page.add_init_script(NOTIFICATIONS_GRANTED)
        errors = _collect_errors(page)
        await _sign_in_with_the_keyboard(page, address, await _username(database, coordinator))
        await expect(page.locator("#live-status")).to_have_text("Live")
        await expect(page.locator("tr[data-alert-id]")).to_have_count(0)
        await expect(page).to_have_title("Remote monitoring: care team")
        await _accessible(page)

        # A device publishes normal readings, then a sustained bradycardia.
        device = broker.device(patient.serial)
        try:
            now = datetime.now(UTC)
            device.record(heart_rates([72, 74, 73], start=now - timedelta(minutes=30)))
            device.record(heart_rates([38, 36, 35, 37, 36], start=now - timedelta(minutes=10), step_s=5))
            assert await asyncio.to_thread(device.flush, 10)
        finally:
            await asyncio.to_thread(device.stop)
            device.close()

        # It reaches the open page through the stream: no reload.
        row = page.locator("tr[data-alert-id]", has_text="Heart rate low")
        await expect(row).to_be_visible(timeout=20_000)
        await expect(row.locator("td.summary")).to_contain_text("below the care-plan limit of 45 /min")
        # Nobody has to be looking: the count is in the tab's title and a desktop notification went out.
        await expect(page).to_have_title("(1) Remote monitoring: care team")
        notes = await page.evaluate("window.__notifications")
        assert len(notes) == 1
        assert notes[0][0].startswith("High alert: Patient ")
        sound = page.get_by_role("button", name="Sound for high and critical alerts")
        await expect(sound).to_have_attribute("aria-pressed", "true")
        await sound.click()
        await expect(sound).to_have_attribute("aria-pressed", "false")
        assert await page.evaluate("localStorage.getItem('rpm.sound')") == "off"
        await screenshot(page, "dashboard-queue-live-alert")
        await _accessible(page)

        await row.get_by_role("button", name="Acknowledge").click()
        await expect(row.locator("td.status")).to_have_text(re.compile("^acknowledged"))
        await eventually(lambda: _status(database, patient.patient_id, AlertStatus.ACKNOWLEDGED), what="ack")

        # Work it further: assign to a team member and leave a comment.
        await row.get_by_role("button", name="Work…").click()
        await page.get_by_label("Assign to").select_option(label="Test coordinator (coordinator)")
        await page.get_by_role("button", name="Assign", exact=True).click()
        await expect(row.locator("td.status")).to_have_text("acknowledged · assigned to you")
        await expect(page.locator(".assigned")).to_have_text("Assigned to Test coordinator")
        await page.get_by_label("Comment").fill("Called the patient: feels dizzy, on the way to the clinic")
        await page.get_by_role("button", name="Add comment").click()
        await expect(page.locator("#toast")).to_contain_text("Comment added")

        # The queue narrowed to what nobody has taken, then to what is the coordinator's own.
        await page.get_by_label("Show").select_option(label="Unassigned")
        await expect(page.locator("tr[data-alert-id]")).to_have_count(0)
        await page.get_by_label("Show").select_option(label="Assigned to me")
        await expect(page.locator("tr[data-alert-id]")).to_have_count(1)
        await page.get_by_label("Show").select_option(label="All alerts")
        await expect(row).to_be_visible()

        # The patient's page: the heart-rate chart with the care-plan limit and the alert on it.
        await row.get_by_role("link").click()
        canvas = page.locator('section[aria-label="Heart rate"] canvas')
        await expect(canvas).to_be_visible()
        datasets = dict(
            await page.evaluate(
                "(c) => Chart.getChart(c).data.datasets.map(d => [d.label, d.data.length])",
                await canvas.element_handle(),
            )
        )
        assert datasets["Heart rate"] >= 2
        assert datasets["Alerts"] == 1
        assert "Heart rate low limit 45 /min" in datasets  # the limit with its unit
        await expect(page.get_by_role("cell", name="Heart rate low")).to_be_visible()
        await screenshot(page, "dashboard-patient-chart")
        await _accessible(page)

        # Back in the queue, dismissing it as false takes it out.
        await page.get_by_role("link", name="Alert queue").click()
        await row.get_by_role("button", name="Work…").click()
        await page.get_by_label("Reason it is false").fill("motion artefact while cycling")
        await page.get_by_role("button", name="Dismiss as false").click()
        await expect(page.locator("tr[data-alert-id]")).to_have_count(0)
        await eventually(
            lambda: _status(database, patient.patient_id, AlertStatus.DISMISSED), what="dismissed"
        )
    assert errors == []


async def test_an_admin_enrols_a_patient_and_sees_a_new_devices_credentials_once(database: Database) -> None:
    team = await factories.team(database, "Cardiology at home")
    admin = await factories.user(database, Role.ADMIN)
    async with serving(database) as address, chromium() as browser:
        page = await browser.new_page(viewport=VIEWPORT)
        errors = _collect_errors(page)
        await page.goto(f"http://{address}/")
        await _accessible(page)  # the sign-in page
        await _sign_in_with_the_keyboard(page, address, await _username(database, admin))
        await expect(page.get_by_role("heading", name="Enrolment")).to_be_visible()

        await page.get_by_label("MRN", exact=True).fill("BROWSER-1")
        await page.get_by_label("Name", exact=True).fill("Ada Example")
        await page.get_by_label("Care team").select_option(label="Cardiology at home")
        await page.get_by_label("heart failure").check()
        await page.get_by_role("button", name="Enrol").click()
        await expect(page.get_by_role("heading", name="Ada Example")).to_be_visible()

        await page.goto(f"http://{address}/app/#/admin")
        await page.get_by_label("Serial (its MQTT username)").fill("scale-browser-1")
        await page.get_by_label("Kind").select_option("scale")
        await page.locator("#owner").select_option(label="Ada Example (BROWSER-1)")
        await page.get_by_role("button", name="Register").click()
        password = page.locator("#mqtt-password")
        await expect(password).to_be_visible()
        assert len(await password.inner_text()) >= 20
        await expect(page.get_by_role("cell", name="scale-browser-1")).to_be_visible()
        await screenshot(page, "dashboard-admin-credentials")
        await _accessible(page)

        await page.reload()  # shown once: nothing to see again
        await expect(page.get_by_role("cell", name="scale-browser-1")).to_be_visible()
        await expect(page.locator("#mqtt-password")).to_have_count(0)

        # A CGM also gets a Nightscout uploader for the patient's phone app; its secret works.
        await page.get_by_label("Serial (its MQTT username)").fill("cgm-browser-1")
        await page.get_by_label("Kind").select_option("cgm")
        await page.locator("#owner").select_option(label="Ada Example (BROWSER-1)")
        await page.get_by_role("button", name="Register").click()
        await expect(page.get_by_role("cell", name="cgm-browser-1")).to_be_visible()
        await page.get_by_role("button", name="Nightscout uploader").click()
        await expect(page.locator("#nightscout-url")).to_have_text(f"http://{address}/ns/cgm-browser-1/")
        secret = await page.locator("#nightscout-secret").inner_text()
        await screenshot(page, "dashboard-admin-nightscout")
        await _accessible(page)
        hashed = hashlib.sha1(secret.encode()).hexdigest()
        async with httpx.AsyncClient() as uploader:
            check = await uploader.get(
                f"http://{address}/ns/cgm-browser-1/api/v1/verifyauth", headers={"api-secret": hashed}
            )
        assert check.status_code == 200
        await page.get_by_role("button", name="Revoke uploader").click()
        await expect(page.get_by_text("Nightscout uploader revoked")).to_be_visible()
    async with database.sessions() as session:
        enrolled = await session.scalar(select(Patient).where(Patient.mrn == "BROWSER-1"))
        device = await session.scalar(select(Device).where(Device.serial == "scale-browser-1"))
    assert enrolled is not None
    assert enrolled.care_team_id == team
    assert enrolled.conditions == [Condition.HEART_FAILURE.value]
    assert device is not None
    assert device.patient_id == enrolled.id
    assert errors == []


async def _status(database: Database, patient_id: UUID, status: AlertStatus) -> bool:
    async with database.sessions() as session:
        alert = await session.scalar(select(Alert).where(Alert.patient_id == patient_id))
        return alert is not None and alert.status == status.value


PHONE = ViewportSize(width=390, height=844)


async def _fits_the_phone(page: Page, name: str) -> None:
    """Nothing wider than the screen: no horizontal scrolling."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width} px wide on a {PHONE['width']} px screen"


async def _on_screen(page: Page, locator_name: str) -> None:
    box = await page.get_by_role("button", name=locator_name).first.bounding_box()
    assert box is not None
    assert 0 <= box["x"]
    assert box["x"] + box["width"] <= PHONE["width"], f"{locator_name} is off the right edge"


async def test_a_coordinator_works_the_queue_a_patient_and_triage_on_a_phone(database: Database) -> None:
    team = await factories.team(database)
    coordinator = await factories.user(database, Role.COORDINATOR, [team])
    patient = await enrol(
        database,
        conditions=[Condition.TYPE1_DIABETES, Condition.HEART_FAILURE],
        kind="cgm",
        care_team_id=team,
    )
    await factories.alert(database, patient.patient_id, severity="critical")
    async with serving(database) as address, chromium() as browser:
        page = await browser.new_page(viewport=PHONE)
        errors = _collect_errors(page)
        await _sign_in_with_the_keyboard(page, address, await _username(database, coordinator))
        row = page.locator("tr[data-alert-id]")
        await expect(row).to_have_count(1)
        await _fits_the_phone(page, "the queue")
        await _on_screen(page, "Acknowledge")
        await row.get_by_role("button", name="Work…").click()
        await expect(page.get_by_role("button", name="Assign", exact=True)).to_be_visible()
        await _fits_the_phone(page, "the queue with an alert being worked")
        await _on_screen(page, "Dismiss as false")
        await screenshot(page, "phone-queue")
        await _accessible(page)

        await row.get_by_role("link").first.click()
        await expect(page.get_by_role("heading", name=re.compile("^Patient "))).to_be_visible()
        await _fits_the_phone(page, "the patient page")
        await screenshot(page, "phone-patient")

        await page.goto(f"http://{address}/app/#/triage")
        await expect(page.locator("td[data-label='Risk']")).to_have_count(1)
        await _fits_the_phone(page, "triage")
        await screenshot(page, "phone-triage")
        await _accessible(page)
    assert errors == []
