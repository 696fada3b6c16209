"""``monitoring demo``: the whole system in one process, a simulated cohort, and where to look."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import time
import webbrowser
from datetime import UTC, datetime, timedelta

from devices.client import BrokerAddress
from monitoring.config import Settings
from monitoring.registry.devices import issue_passwords
from monitoring.registry.manifest import Manifest, enrol_manifest
from monitoring.reports.glance import refresh as refresh_glance
from monitoring.runtime import Role, Runtime, running
from monitoring_cli.seed import DEMO_PASSWORD, Account, close_ended_history, demo_staff
from simulators.demo import HISTORY, DemoSimulator, demo_cohort

log = logging.getLogger(__name__)


def _broker_address(runtime: Runtime) -> BrokerAddress:
    """Where the simulated devices connect; each signs in with its own serial and password."""
    host, port, _, _ = runtime.endpoints.mqtt.endpoint()
    return BrokerAddress(host, port, protocol=runtime.endpoints.mqtt.protocol)


def _welcome(
    runtime: Runtime,
    duration_s: float | None,
    simulator: DemoSimulator,
    accounts: list[Account],
    notes: list[str],
) -> str:
    patient = simulator.deteriorating_patient
    base = f"http://{runtime.settings.api.host}:{runtime.settings.api.port}"
    embedded = ", ".join(runtime.endpoints.embedded) or "none"
    until = f"for {duration_s:g} s" if duration_s else "until Ctrl-C"
    return "\n".join(
        [
            "",
            f"Remote monitoring demo running {until} (embedded services: {embedded}).",
            f"  Dashboard       {base}/app/  (coordinators: the live alert queue)",
            f"  API docs        {base}/docs  (Authorize with the same accounts)",
            "Sign in as " + ", ".join(a.username for a in accounts) + f"; password {DEMO_PASSWORD!r}.",
            f"The last hour (since {simulator.replay_from:%H:%M} UTC) replays at 60x, then runs live. "
            f"Patient {patient} (heart failure) goes into fast atrial fibrillation; its alert reaches the "
            "coordinator's queue within about a minute of this message.",
            *notes,
            "",
        ]
    )


HISTORY_TIMEOUT_S = 600.0


async def _take_history(runtime: Runtime, simulator: DemoSimulator, stop: asyncio.Event) -> list[str]:
    """Wait while the history goes through the broker and ingestion; close what ended in it.

    The history is in when ingestion has taken as many messages as the upload sent. A care
    team would have worked the alerts whose episodes began and ended in those two weeks:
    they are resolved as the demo's coordinator (each says so); what still goes on stays open.
    """
    if simulator.replay_from <= simulator.cohort.start:
        return []
    began = time.monotonic()
    days = (simulator.replay_from - simulator.cohort.start).days
    print(f"Loading {days} days of the cohort's history through the broker and ingestion...", flush=True)  # noqa: T201
    ingest = runtime.ingest
    if ingest is None:
        return []
    last_said = began

    def taken_in() -> bool:
        sent = simulator.history
        return sent is not None and ingest.stats.messages >= sent.messages

    while not taken_in() and not stop.is_set():
        if time.monotonic() - began > HISTORY_TIMEOUT_S:
            return [f"The history was not in after {HISTORY_TIMEOUT_S:.0f} s; charts fill as the demo runs."]
        if time.monotonic() - last_said >= 10:
            last_said = time.monotonic()
            print(f"  {ingest.stats.stored:,} readings stored so far", flush=True)  # noqa: T201
        await asyncio.sleep(0.5)
    wanted = simulator.history
    if wanted is None:
        return []
    async with runtime.database.unit_of_work() as session:
        await refresh_glance(session=session, now=datetime.now(UTC))
    closed = await close_ended_history(
        runtime.database,
        site_code=simulator.cohort.site,
        username="demo-coordinator",
        before=simulator.replay_from,
    )
    return [
        f"{days} days of history ({wanted.readings:,} readings in {wanted.messages:,} messages) went "
        f"through the broker and ingestion in {time.monotonic() - began:.0f} s. Alerts raised from it "
        f"say they arrived late (uploaded days after measurement); {closed} whose episodes also ended "
        "in it were resolved as demo-coordinator, and what still goes on is open in the queue."
    ]


def _open_dashboard(runtime: Runtime) -> None:
    """Show the dashboard in the user's browser, where there is a screen to show it on."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return  # a server or a terminal session: the printed address is enough
    webbrowser.open(f"http://{runtime.settings.api.host}:{runtime.settings.api.port}/app/")


def _earlier_run(settings: Settings, fresh: bool) -> list[str]:
    """Start over when asked; otherwise say when an earlier demo's data is reused."""
    embedded = settings.data_dir / "postgres"
    if settings.database.url is not None or not embedded.exists():
        return []
    if fresh:
        shutil.rmtree(settings.data_dir)
        return []
    return [
        f"This demo reuses the data of an earlier run in {settings.data_dir}/ (its alerts and "
        'history); make demo ARGS="--fresh" starts over.'
    ]


async def run_demo(
    settings: Settings,
    stop: asyncio.Event,
    duration_s: float | None,
    *,
    open_browser: bool = True,
    fresh: bool = False,
    history: timedelta = HISTORY,
) -> None:
    notes = await asyncio.to_thread(_earlier_run, settings, fresh)
    roles = {Role.API, Role.INGEST, Role.SCHEDULER}
    seeding = {
        "demo": "enrolling the demo cohort and creating the demo accounts",
        "history": "loading the cohort's history",
    }
    async with running(settings, roles, migrate_schema=True, starting=seeding) as runtime:
        now = datetime.now(UTC)
        cohort = demo_cohort(now, history=history)
        enrolled = await enrol_manifest(runtime.database, Manifest.model_validate(cohort.manifest()))
        if not enrolled.patients_added:  # an earlier run's cohort, with its history: only go on from now
            cohort = demo_cohort(now, history=timedelta(0))
        accounts = await demo_staff(runtime.database, cohort.site)
        async with runtime.database.unit_of_work() as session:
            credentials = await issue_passwords(
                session=session, serials=[d.serial for p in cohort.patients for d in p.devices]
            )
        runtime.starting.pop("demo")
        simulator = DemoSimulator(
            cohort,
            _broker_address(runtime),
            root=runtime.endpoints.mqtt.topic_root,
            credentials=credentials,
            now=now,
            taken_in=lambda: runtime.ingest.stats.messages if runtime.ingest is not None else 1 << 62,
        )
        simulator.start()
        try:
            notes += await _take_history(runtime, simulator, stop)
            simulator.replay()
            runtime.starting.pop("history")
            print(_welcome(runtime, duration_s, simulator, accounts, notes), flush=True)  # noqa: T201 - the demo talks to its user
            if open_browser:
                _open_dashboard(runtime)
            await asyncio.wait_for(stop.wait(), timeout=duration_s)
        except TimeoutError:
            pass
        finally:
            await asyncio.to_thread(simulator.stop)
        if runtime.ingest is not None:
            stats = runtime.ingest.stats
            log.info(
                "demo stopping: %d messages, %d readings stored, %d dead letters, %d alert changes",
                stats.messages,
                stats.stored,
                stats.dead_letters,
                stats.alert_changes,
            )
