"""``python -m benchmarks.care_team``: the care team's pages at scale, as figures.

    python -m benchmarks.care_team --patients 2000 --alerts 5000 [--requests 40] [--json out.json]

Seeds the database ``rpm_bench_team`` on the PostgreSQL under test (replacing it) with one care
team of ``--patients`` patients (a third with a CGM and two weeks of readings every 30 minutes,
the rest a blood-pressure cuff read twice a day) and ``--alerts`` open alerts among them; refreshes
the patient panel's glance table; starts ``monitoring api`` as its own process; then prints:

- p50 / p95 / max of the panel and queue API calls a coordinator's pages make (targets: p95
  <= 100 ms), timed from this process over loopback with a signed-in coordinator's token;
- how long Chromium takes from opening the page to its first 50 rows drawn, for the patient
  panel and the alert queue (target <= 1 s), at 1440x900.

Everything runs on this machine: the API process, PostgreSQL and Chromium share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import IO

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.cohort import _patient, fresh_database
from monitoring.access.principal import Role
from monitoring.catalogue import Series
from monitoring.domain import Condition
from monitoring.embedded.broker import free_port
from monitoring.registry.manifest import Manifest, ManifestSite, enrol_manifest
from monitoring.reports.glance import refresh
from monitoring.storage.db import Database
from monitoring_cli.seed import ensure_user

DATABASE = "rpm_bench_team"
SETTLE_S = 8.0  # the API process's start-up jobs (panel glance of every patient, data gaps) run first
PASSWORD = "bench-password-only"  # noqa: S105 - a throw-away benchmark account
TEAM = "Bench care team"
ALERT_TYPES: tuple[
    tuple[str, str, Series | None], ...
] = (  # up to three open alerts per patient, one of each type (one active per type)
    ("threshold.heart_rate.high", "threshold", Series.HEART_RATE),
    ("bp.crisis", "blood_pressure", Series.BP_SYSTOLIC),
    ("device.data_gap.wearable", "data_gap", None),
)
SEVERITIES = ("critical", "high", "high", "medium", "medium", "low")
CALLS: tuple[tuple[str, str], ...] = (
    ("panel, risk order", "/api/v1/panel?limit=50"),
    ("panel, time in range order", "/api/v1/panel?limit=50&sort=time_in_range"),
    ("panel, search", "/api/v1/panel?limit=50&q=P-01"),
    ("panel, condition and flag", "/api/v1/panel?limit=50&condition=type1_diabetes&flag=any"),
    ("panel, page 20", "/api/v1/panel?limit=50&offset=950"),
    ("queue, first page", "/api/v1/alerts?status=open&limit=50"),
    ("queue, critical", "/api/v1/alerts?status=open&severity=critical&limit=50"),
    ("queue, unassigned", "/api/v1/alerts?status=open&assigned=nobody&limit=50"),
    ("queue, facets", "/api/v1/alerts/facets"),
)


@dataclass
class Figures:
    patients: int
    alerts: int
    seed_s: float
    glance_refresh_s: float
    api_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    render_ms: dict[str, dict[str, float]] = field(default_factory=dict)


async def seed(admin_url: str, patients: int, alerts: int) -> tuple[str, float, float]:
    """The database, its team and coordinator, readings and alerts; seconds to seed and to refresh."""
    began = time.perf_counter()
    url = await fresh_database(admin_url, DATABASE)
    database = Database(url)
    try:
        await ensure_user(
            database, site_code="BENCH", username="bench-coordinator", role=Role.COORDINATOR,
            password=PASSWORD, team=TEAM,
        )  # fmt: skip
        entries = [
            _patient(f"P-{i:05d}", [Condition.TYPE1_DIABETES], f"BENCH-CGM-{i:05d}", "cgm")
            if i % 3 == 0
            else _patient(f"P-{i:05d}", [Condition.HYPERTENSION], f"BENCH-BP-{i:05d}", "bp_cuff")
            for i in range(patients)
        ]
        for start in range(0, len(entries), 2000):
            manifest = Manifest(
                site=ManifestSite(code="BENCH", name="Bench"), patients=entries[start : start + 2000]
            )
            await enrol_manifest(database, manifest)
        async with database.unit_of_work() as session:
            await session.execute(
                text(
                    "UPDATE patients SET care_team_id = (SELECT id FROM care_teams WHERE name = :team), "
                    "enrolled_at = now() - interval '30 days', display_name = 'Patient ' || mrn"
                ),
                {"team": TEAM},
            )
            # Two weeks of CGM every 30 minutes (a daily swing, some lows), and a cuff twice a day.
            columns = (
                "INSERT INTO readings (device_id, series, measured_at, patient_id, value, seq, received_at) "
            )
            await session.execute(
                text(
                    columns + "SELECT d.id, :cgm, t, d.patient_id, "
                    "  120 + 60 * sin(extract(epoch FROM t) / 13000 + hashtext(d.serial) % 7), 0, t "
                    "FROM devices d, generate_series(now() - interval '14 days', "
                    "  now() - interval '10 minutes', interval '30 minutes') AS t WHERE d.kind = 'cgm'"
                ),
                {"cgm": int(Series.GLUCOSE_CGM)},
            )
            for pressure, base in ((Series.BP_SYSTOLIC, 130), (Series.BP_DIASTOLIC, 82)):
                await session.execute(
                    text(
                        columns + "SELECT d.id, :series, t, d.patient_id, "
                        "  :base + hashtext(d.serial || t::text) % 15, 0, t "
                        "FROM devices d, generate_series(now() - interval '14 days', "
                        "  now() - interval '1 hour', interval '12 hours') AS t WHERE d.kind = 'bp_cuff'"
                    ),
                    {"series": int(pressure), "base": base},
                )
            await session.execute(
                text("UPDATE devices SET last_seen_at = now() - interval '10 minutes', online = true")
            )
            severities = ", ".join(f"'{s}'" for s in SEVERITIES)
            for n, (alert_type, detector, series) in enumerate(ALERT_TYPES):
                await session.execute(
                    text(
                        "INSERT INTO alerts (id, patient_id, alert_type, detector, series, severity, status, "
                        "  summary, explanation, opened_at, episode_started_at, last_episode_started_at, "
                        "  last_triggered_at) "
                        "SELECT gen_random_uuid(), p.id, CAST(:type AS text), CAST(:detector AS text), "
                        f"  CAST(:series AS smallint), (ARRAY[{severities}])[1 + (p.n % 6)], 'open', "
                        "  'Benchmark alert ' || p.n || ': ' || CAST(:type AS text), "
                        "  jsonb_build_object('detector', CAST(:detector AS text), 'rule', 'benchmark'), "
                        "  now() - (p.n % 600) * interval '1 minute', now() - interval '2 hours', "
                        "  now() - interval '2 hours', now() - interval '1 minute' "
                        "FROM (SELECT id, row_number() OVER (ORDER BY mrn) AS n FROM patients "
                        "  ORDER BY mrn LIMIT :count) AS p"
                    ),
                    {
                        "type": alert_type,
                        "detector": detector,
                        "series": None if series is None else int(series),
                        "count": max(0, min(patients, alerts - n * patients)),
                    },
                )
        # As autovacuum would by now: the planner needs the tables' sizes (a bulk load leaves it guessing).
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
        finally:
            await engine.dispose()
        seeded = time.perf_counter() - began
        began = time.perf_counter()
        async with database.unit_of_work() as session:
            await refresh(session=session, now=datetime.now(UTC))
        return url, seeded, time.perf_counter() - began
    finally:
        await database.dispose()


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(1000 * statistics.median(ordered), 1),
        "p95": round(1000 * ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "max": round(1000 * ordered[-1], 1),
    }


def serve(url: str, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RPM_DATABASE__URL": url, "RPM_API__PORT": str(port), "RPM_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "monitoring_cli", "api"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the API stopped before it was ready")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the API was not ready within a minute")


def time_calls(base: str, requests: int) -> dict[str, dict[str, float]]:
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "bench-coordinator", "password": PASSWORD}
        )
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        figures = {}
        for name, path in CALLS:
            for _ in range(3):  # warm: the first calls pay connections and query set-up
                client.get(path).raise_for_status()
            took = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(path)
                took.append(time.perf_counter() - started)
                response.raise_for_status()
            figures[name] = summary(took)
        return figures


async def time_pages(base: str, rounds: int) -> dict[str, dict[str, float]]:
    from playwright.async_api import async_playwright

    # Each page is drawn when its 50th row is (locators, not scripts: the page's CSP refuses eval).
    pages = {
        "patient panel": ("#/patients", "tr[data-patient]"),
        "alert queue": ("#/queue", "tr[data-alert-id]"),
    }
    figures: dict[str, dict[str, float]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            await page.goto(f"{base}/")
            await page.fill("#username", "bench-coordinator")
            await page.fill("#password", PASSWORD)
            await page.keyboard.press("Enter")
            await page.wait_for_selector("#live-status")
            for name, (route, rows) in pages.items():
                took = []
                for _ in range(rounds + 1):
                    await page.goto(f"{base}/app/#/", wait_until="load")
                    started = time.perf_counter()
                    await page.goto(f"{base}/app/{route}", wait_until="commit")
                    await page.locator(rows).nth(49).wait_for(state="visible", timeout=30_000)
                    took.append(time.perf_counter() - started)
                figures[name] = summary(took[1:])  # the first round warms the browser's cache
        finally:
            await browser.close()
    return figures


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(candidate):
            return candidate
    return None  # Playwright's own download, if installed


def render(f: Figures) -> str:
    lines = [
        f"care team of {f.patients:,} patients, {f.alerts:,} open alerts "
        f"(seeded in {f.seed_s:.1f} s; panel glance refreshed in {f.glance_refresh_s:.2f} s)",
        "API, one coordinator over loopback (ms):",
    ]
    width = max(len(name) for name in f.api_ms)
    for name, s in f.api_ms.items():
        lines.append(f"  {name:<{width}}  p50 {s['p50']:>6}  p95 {s['p95']:>6}  max {s['max']:>6}")
    lines.append("Chromium, page opened to 50 rows drawn, 1440x900 (ms):")
    for name, s in f.render_ms.items():
        lines.append(f"  {name:<{width}}  p50 {s['p50']:>6}  p95 {s['p95']:>6}  max {s['max']:>6}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.care_team", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=5000, help="open alerts (at most three per patient)")
    parser.add_argument("--requests", type=int, default=40, help="timed calls of each API request")
    parser.add_argument("--rounds", type=int, default=5, help="timed page loads of each page")
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="a database on the server under test (the benchmark's own is created beside it)",
    )  # fmt: skip
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.patients <= 20_000 or not 0 <= args.alerts <= 3 * args.patients:
        parser.error("--patients must be 1..20000 and --alerts 0..3 x patients")
    if not 1 <= args.requests <= 1000 or not 1 <= args.rounds <= 50:
        parser.error("--requests must be 1..1000 and --rounds 1..50")
    url, seeded, refreshed = asyncio.run(seed(args.database_url, args.patients, args.alerts))
    figures = Figures(args.patients, args.alerts, round(seeded, 1), round(refreshed, 2))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = serve(url, port, log)
        try:
            wait_ready(base, server)
            time.sleep(SETTLE_S)
            figures.api_ms = time_calls(base, args.requests)
            figures.render_ms = asyncio.run(time_pages(base, args.rounds))
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(render(figures))  # noqa: T201 - the figures are the command's output
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(asdict(figures), out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
