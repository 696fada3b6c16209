"""Headless Chromium for dashboard tests: the system's browser, driven by Playwright.

The browser is Debian's ``chromium`` (or ``RPM_TEST_CHROMIUM``); Playwright never
downloads one. Without it a test is skipped on a workstation and fails under CI.
Screenshots go to ``RPM_TEST_ARTIFACTS`` (default ``test-artifacts/`` in the checkout).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("RPM_TEST_ARTIFACTS", ROOT / "test-artifacts"))
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# Chromium as root in a sandboxless container, and no calls home on a closed network.
AXE_SOURCE = AXE.read_text(encoding="utf-8")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = (
        os.environ.get("RPM_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if found:
        return found
    reason = "Chromium is not installed (Debian: apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the browser tests are required)", pytrace=False)
    pytest.skip(reason)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot as a test artefact; returns where it is."""
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)  # makes the folder
    return path


async def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A and AA violations on the page as it is now."""
    await page.evaluate(AXE_SOURCE)
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})"
    )
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "where": [" ".join(n["target"]) for n in v["nodes"][:3]],
        }
        for v in result["violations"]
    ]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=1)
