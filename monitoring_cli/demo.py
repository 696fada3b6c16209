"""``monitoring demo``: the whole system in one process, a simulated cohort, and where to look."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import webbrowser
from datetime import UTC, datetime

from devices.client import BrokerAddress
from monitoring.config import Settings
from monitoring.registry.devices import issue_passwords
from monitoring.registry.manifest import Manifest, enrol_manifest
from monitoring.runtime import Role, Runtime, running
from monitoring_cli.seed import DEMO_PASSWORD, Account, demo_staff
from simulators.demo import DemoSimulator, demo_cohort

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
    reused: list[str],
) -> str:
    cohort_start, patient = simulator.cohort.start, simulator.deteriorating_patient
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
            f"Simulated history since {cohort_start:%H:%M} UTC replays at 60x, then runs live. Patient "
            f"{patient} (heart failure) goes into fast atrial fibrillation; its alert reaches the "
            "coordinator's queue within about a minute of this message. Alerts from the replayed "
            "history are marked as arrived late: those readings were sent long after they were measured.",
            *reused,
            "",
        ]
    )


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
) -> None:
    notes = await asyncio.to_thread(_earlier_run, settings, fresh)
    roles = {Role.API, Role.INGEST, Role.SCHEDULER}
    seeding = {"demo": "enrolling the demo cohort and creating the demo accounts"}
    async with running(settings, roles, migrate_schema=True, starting=seeding) as runtime:
        cohort = demo_cohort(datetime.now(UTC))
        await enrol_manifest(runtime.database, Manifest.model_validate(cohort.manifest()))
        accounts = await demo_staff(runtime.database, cohort.site)
        async with runtime.database.unit_of_work() as session:
            credentials = await issue_passwords(
                session=session, serials=[d.serial for p in cohort.patients for d in p.devices]
            )
        runtime.starting.pop("demo")
        simulator = DemoSimulator(
            cohort, _broker_address(runtime), root=runtime.endpoints.mqtt.topic_root, credentials=credentials
        )
        simulator.start()
        print(_welcome(runtime, duration_s, simulator, accounts, notes), flush=True)  # noqa: T201 - the demo talks to its user
        if open_browser:
            _open_dashboard(runtime)
        try:
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
