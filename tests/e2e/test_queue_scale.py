"""The alert queue for a real team in headless Chromium: 60 alerts, pages of 50, filters by
severity and type, bulk acknowledge and assign, an alert's history with its comments; at
1440x900 and on a 390x844 phone; axe-core clean."""

from __future__ import annotations

import re
from uuid import UUID

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from monitoring.access.principal import Role
from monitoring.domain import AlertStatus, Condition
from monitoring.storage.db import Database
from monitoring.storage.models import Alert
from tests import factories
from tests.api_support import serving
from tests.e2e.browser import chromium, screenshot
from tests.e2e.test_dashboard import (
    PHONE,
    _accessible,
    _fits_the_phone,
    _on_screen,
    _sign_in_with_the_keyboard,
    _username,
)
from tests.e2e.test_panel import DESKTOP
from tests.factories import enrol

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
expect.set_options(timeout=15_000)


async def _queue(database: Database) -> tuple[str, list[UUID]]:
    team = await factories.team(database)
    coordinator = await factories.user(database, Role.COORDINATOR, [team])
    await factories.user(database, Role.CLINICIAN, [team])
    people = [
        await enrol(database, conditions=[Condition.TYPE2_DIABETES], kind="cgm", care_team_id=team)
        for _ in range(12)
    ]
    ids = []
    for i in range(60):
        severity = "critical" if i < 4 else "high" if i < 20 else "medium"
        ids.append(
            await factories.alert(database, people[i % 12].patient_id, prefix="queue", severity=severity)
        )
    # Six low-glucose alerts; the rest of five other types, one active alert per patient and type.
    others = ["glucose.high_extended", "bp.crisis", "hf.weight_gain", "news2", "threshold.heart_rate.high"]
    async with database.unit_of_work() as session:
        for i, alert_id in enumerate(ids):
            kind = "glucose.low" if i < 6 else others[i // 12]
            await session.execute(update(Alert).where(Alert.id == alert_id).values(alert_type=kind))
    return await _username(database, coordinator), ids


async def _statuses(database: Database) -> dict[str, int]:
    async with database.sessions() as session:
        rows = (await session.execute(Alert.__table__.select())).all()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


async def test_a_coordinator_works_sixty_alerts_a_page_at_a_time(database: Database) -> None:
    username, _ = await _queue(database)
    async with serving(database) as address, chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await _sign_in_with_the_keyboard(page, address, username)
        rows = page.locator("tr[data-alert-id]")
        await expect(rows).to_have_count(50)
        await expect(page.locator("h1")).to_contain_text("(60)")
        await expect(page).to_have_title("(60) Remote monitoring: care team")
        await expect(rows.first.locator(".sev")).to_have_text("critical")
        # The coordinator takes the team's on-call: escalations now come to them.
        await expect(page.locator(".on-call")).to_contain_text("nobody")
        await page.get_by_role("button", name="Take the on-call of").click()
        await expect(page.locator(".on-call")).to_contain_text("On call for Team")
        await expect(page.locator(".on-call strong")).to_have_text(re.compile("^you since"))
        await expect(page.get_by_role("button", name="Hand back the on-call")).to_be_visible()
        await _accessible(page)

        await page.get_by_role("button", name="Next page").click()
        await expect(rows).to_have_count(10)
        await page.get_by_label("Severity").select_option(label="critical (4)")
        await expect(rows).to_have_count(4)
        await page.get_by_label("Severity").select_option(label="Any (60)")
        await page.get_by_label("Type").select_option(label="Low glucose (6)")
        await expect(rows).to_have_count(6)

        # Six low-glucose alerts acknowledged at once.
        await page.get_by_label("Select every alert on this page").check()
        await expect(page.locator("#bulk-count")).to_have_text("6 selected")
        await screenshot(page, "queue-bulk-selected")
        await _accessible(page)
        await page.get_by_role("button", name="Acknowledge selected").click()
        await expect(page.locator("#toast")).to_contain_text("Acknowledged 6 alert(s)")
        await expect(rows.locator("td.status", has_text="acknowledged")).to_have_count(6)
        assert (await _statuses(database)).get(AlertStatus.ACKNOWLEDGED.value) == 6

        # Two of them assigned to the clinician, then one worked: its history says who did what.
        await rows.nth(0).get_by_role("checkbox").check()
        await rows.nth(1).get_by_role("checkbox").check()
        await page.get_by_label("Assign selected to").select_option(label="Test clinician (clinician)")
        await page.locator(".bulk").get_by_role("button", name="Assign").click()
        await expect(page.locator("#toast")).to_contain_text("Assigned 2 alert(s)")
        await expect(rows.locator("td.status", has_text="assigned to Test clinician")).to_have_count(2)
        await page.get_by_label("Show").select_option(label="Unassigned")
        await expect(rows).to_have_count(4)
        await page.get_by_label("Show").select_option(label="All alerts")
        await expect(rows).to_have_count(6)

        first = rows.filter(has_text="assigned to Test clinician").first
        await first.get_by_role("button", name="Work…").click()
        await expect(page.locator(".assigned")).to_have_text("Assigned to Test clinician")
        await page.get_by_label("Comment").fill("Rang the patient: treated with juice")
        await page.get_by_role("button", name="Add comment").click()
        history = page.get_by_role("list", name="History")
        await expect(history).to_contain_text("Rang the patient: treated with juice")
        await expect(history).to_contain_text("Acknowledged")
        await expect(history).to_contain_text("Assigned to Test clinician")
        await screenshot(page, "queue-alert-history")
        await _accessible(page)

        phone = await browser.new_page(viewport=PHONE)
        await _sign_in_with_the_keyboard(phone, address, username)
        await expect(phone.locator("tr[data-alert-id]")).to_have_count(50)
        await _fits_the_phone(phone, "the queue of 60")
        await _on_screen(phone, "Acknowledge")
        await phone.locator("tr[data-alert-id]").first.get_by_role("checkbox").check()
        await expect(phone.locator("#bulk-count")).to_have_text("1 selected")
        await _fits_the_phone(phone, "the queue with the bulk bar")
        await _on_screen(phone, "Acknowledge selected")
        await screenshot(phone, "phone-queue-bulk")
        await _accessible(phone)
