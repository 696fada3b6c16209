"""``monitoring demo``: the whole system in one process, a simulated cohort, and where to look."""

from __future__ import annotations

import asyncio
import logging

from devices.publisher import BrokerAddress
from monitoring.config import Settings
from monitoring.domain import Condition
from monitoring.registry import repository
from monitoring.registry.service import enrol_patient, ensure_site, register_device
from monitoring.runtime import Role, Runtime, running
from monitoring.storage.db import Database
from simulators.demo import DEMO_COHORT, DemoPatient, DemoSimulator

log = logging.getLogger(__name__)

DEMO_SITE = ("DEMO", "Demo hospital (simulated patients)")


async def enrol_demo_cohort(database: Database, cohort: tuple[DemoPatient, ...] = DEMO_COHORT) -> None:
    """Enrol the cohort and its devices; what already exists is left as it is."""
    async with database.unit_of_work() as session:
        site = await ensure_site(session=session, code=DEMO_SITE[0], name=DEMO_SITE[1])
        for member in cohort:
            patient = await repository.get_patient_by_mrn(session=session, site_id=site.id, mrn=member.mrn)
            if patient is None:
                enrolled = await enrol_patient(
                    session=session,
                    site=site,
                    mrn=member.mrn,
                    display_name=member.name,
                    conditions=[Condition(c) for c in member.conditions],
                )
                patient = enrolled.patient
            serials = [(member.wearable, "wearable"), (member.meter, "glucometer")]
            known = await repository.devices_by_serial(
                session=session, serials=[s for s, _ in serials if s is not None]
            )
            for serial, kind in serials:
                if serial is not None and serial not in known:
                    await register_device(session=session, serial=serial, kind=kind, patient_id=patient.id)


def _broker_address(runtime: Runtime) -> BrokerAddress:
    host, port, username, password = runtime.endpoints.mqtt.endpoint()
    return BrokerAddress(host, port, username, password, protocol=runtime.endpoints.mqtt.protocol)


def _welcome(runtime: Runtime, duration_s: float | None) -> str:
    base = f"http://{runtime.settings.api.host}:{runtime.settings.api.port}"
    embedded = ", ".join(runtime.endpoints.embedded) or "none"
    until = f"for {duration_s:g} s" if duration_s else "until Ctrl-C"
    return "\n".join(
        [
            "",
            f"Remote monitoring demo running {until} (embedded services: {embedded}).",
            f"  API docs        {base}/docs",
            f"  Patients        {base}/api/v1/patients",
            f"  Open alerts     {base}/api/v1/alerts?status=open",
            f"  Dead letters    {base}/api/v1/dead-letters",
            f"  Readiness       {base}/ready",
            "Patient DEMO-003 (heart failure) becomes tachycardic about 15 s in; "
            "an alert opens a few readings later.",
            "",
        ]
    )


async def run_demo(settings: Settings, stop: asyncio.Event, duration_s: float | None) -> None:
    roles = {Role.API, Role.INGEST, Role.SCHEDULER}
    async with running(settings, roles, migrate_schema=True) as runtime:
        await enrol_demo_cohort(runtime.database)
        simulator = DemoSimulator(_broker_address(runtime), root=runtime.endpoints.mqtt.topic_root)
        simulator.start()
        print(_welcome(runtime, duration_s), flush=True)  # noqa: T201 - the demo talks to its user
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
