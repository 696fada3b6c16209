"""Assembles the service from its parts for each way it runs (demo, serve, ingest, api).

Embedded PostgreSQL and broker start only when no URL is configured. Every
component started here is stopped here, in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

import uvicorn
from fastapi import FastAPI

from monitoring.alerts.from_findings import AlertChange
from monitoring.api.app import create_app
from monitoring.api.ops import create_ops_app
from monitoring.api.probes import ComponentStatus, Probes
from monitoring.api.server import ApiServer, server_config
from monitoring.config import DatabaseSettings, MqttSettings, Settings
from monitoring.detection.checkpoints import Checkpointer
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.lineup import default_detectors
from monitoring.embedded.broker import BrokerAccess, EmbeddedBroker, service_account
from monitoring.embedded.postgres import EmbeddedPostgres
from monitoring.ingest.directory import DeviceDirectory
from monitoring.ingest.mqtt import MqttSource
from monitoring.ingest.ownership import WorkerShare
from monitoring.ingest.quota import DeadLetterBound
from monitoring.ingest.source import Source
from monitoring.jobs.alerts import escalation_job, webhook_job
from monitoring.jobs.detection import checkpoint_job, data_gap_job
from monitoring.jobs.exports import bulk_export_job
from monitoring.jobs.maintenance import glance_job, partition_job
from monitoring.jobs.scheduler import Scheduler
from monitoring.nightscout.gateway import ReadingsGateway
from monitoring.pipeline import Pipeline
from monitoring.storage import migrate
from monitoring.storage.db import Database
from monitoring.worker import IngestService

log = logging.getLogger(__name__)


class Role(StrEnum):
    API = "api"
    INGEST = "ingest"
    SCHEDULER = "scheduler"


@dataclass(frozen=True, slots=True)
class Endpoints:
    database_url: str  # the runtime role's
    mqtt: MqttSettings
    embedded: tuple[str, ...] = ()
    owner_database_url: str | None = None  # the schema owner's, for migrations; default database_url

    @property
    def migration_url(self) -> str:
        return self.owner_database_url or self.database_url

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` as its owner, then grant the runtime role its privileges."""
        owner = self.migration_url
        await migrate.upgrade(owner, revision, grant_to=migrate.runtime_role(owner, self.database_url))


async def resolve_endpoints(settings: Settings, stack: AsyncExitStack, *, need_broker: bool) -> Endpoints:
    """The configured services, or embedded ones started on ``stack`` where none is configured."""
    embedded: list[str] = []
    database_url, owner_url = settings.database.url, settings.database.owner_url
    if database_url is None:
        postgres = EmbeddedPostgres(settings.data_dir)
        urls = await postgres.start()
        database_url, owner_url = urls.runtime, urls.owner
        stack.push_async_callback(postgres.stop)
        embedded.append("postgresql")
    mqtt = settings.mqtt
    if mqtt.url is None and need_broker:
        # The broker checks devices' passwords against the registry, through a small pool of its own.
        registry = Database(database_url, DatabaseSettings(pool_size=2))
        stack.push_async_callback(registry.dispose)
        broker = EmbeddedBroker(BrokerAccess(registry, service_account(), mqtt.topic_root))
        url = await broker.start()
        stack.push_async_callback(broker.stop)
        # amqtt speaks MQTT 3.1.1 only.
        mqtt = mqtt.model_copy(update={"url": url, "protocol": "3.1.1"})
        embedded.append("mqtt")
    return Endpoints(database_url, mqtt, tuple(embedded), owner_url)


@dataclass
class Runtime:
    """The running components of one process."""

    settings: Settings
    endpoints: Endpoints
    database: Database
    ingest: IngestService | None = None
    source: Source | None = None
    scheduler: Scheduler | None = None
    api_server: uvicorn.Server | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Work that must finish before the process is ready (name -> what it is doing), e.g. demo seeding.
    starting: dict[str, str] = field(default_factory=dict)

    def probes(self) -> Probes:
        probes: Probes = [self._database_probe, self._startup_probe]
        if self.source is not None:
            probes.append(self._broker_probe)
        if self.ingest is not None:
            probes.append(self._ingest_probe)
        return probes

    async def _startup_probe(self) -> ComponentStatus:
        if self.starting:
            return ComponentStatus(name="startup", ok=False, detail="; ".join(self.starting.values()))
        return ComponentStatus(name="startup", ok=True)

    async def _database_probe(self) -> ComponentStatus:
        try:
            await asyncio.wait_for(self.database.ping(), timeout=2.0)
        except Exception as error:  # any failure means "not ready"; the detail says which
            return ComponentStatus(name="database", ok=False, detail=f"{type(error).__name__}: {error}")
        return ComponentStatus(name="database", ok=True)

    async def _broker_probe(self) -> ComponentStatus:
        assert self.source is not None
        source = self.source
        if not source.connected:
            return ComponentStatus(
                name="broker", ok=False, detail=f"not connected to {source.host}:{source.port}"
            )
        if not source.subscribed:
            return ComponentStatus(name="broker", ok=False, detail="connected, subscriptions not confirmed")
        return ComponentStatus(name="broker", ok=True)

    async def _ingest_probe(self) -> ComponentStatus:
        assert self.ingest is not None
        ok = self.ingest.store_available
        return ComponentStatus(name="ingest", ok=ok, detail=None if ok else self.ingest.last_error)


# Cyclic-GC generation thresholds for a long-running service. CPython's default
# (700, 10, 10) runs a full collection every few seconds under load, and a full
# collection walks every tracked object: ~100 ms with 4,000 patients' detector
# state, a pause that every alert in flight waits through.
GC_THRESHOLDS = (20_000, 20, 20)


def settle_heap() -> None:
    """Once started: exempt start-up objects (modules, ORM, app) from the cyclic GC; collect rarely."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@contextlib.asynccontextmanager
async def running(
    settings: Settings, roles: set[Role], *, migrate_schema: bool, starting: dict[str, str] | None = None
) -> AsyncIterator[Runtime]:
    """Start the components of ``roles``; stop everything on exit.

    ``starting`` names work the caller will do before the process is ready: ``/ready`` answers
    503 until the caller removes each entry from ``runtime.starting``.
    """
    async with AsyncExitStack() as stack:
        endpoints = await resolve_endpoints(settings, stack, need_broker=Role.INGEST in roles)
        if migrate_schema:
            await endpoints.migrate()
        else:
            await migrate.require_head(endpoints.database_url)
        await migrate.check_runtime_role(endpoints.database_url, strict=settings.environment == "production")
        database = Database(endpoints.database_url, settings.database)
        stack.push_async_callback(database.dispose)
        runtime = Runtime(
            settings=settings, endpoints=endpoints, database=database, starting=dict(starting or {})
        )

        if Role.INGEST in roles:
            await _start_ingestion(runtime, stack)

        if Role.SCHEDULER in roles:
            _start_scheduler(runtime, stack)

        if Role.API in roles:
            gateway = await _start_gateway(endpoints.mqtt, stack)
            app = create_app(settings=settings, database=database, probes=runtime.probes(), gateway=gateway)
            _serve_http(runtime, app, settings.api.port)
        elif settings.ingest.http_port is not None:
            _serve_http(runtime, create_ops_app(runtime.probes()), settings.ingest.http_port)

        stack.push_async_callback(_stop_tasks, runtime)
        settle_heap()
        yield runtime


async def _start_ingestion(runtime: Runtime, stack: AsyncExitStack) -> None:
    """This worker's share of the broker's messages, through the pipeline, with detector state restored."""
    settings, database = runtime.settings, runtime.database
    if settings.nats.url:
        from monitoring.cluster import start_cluster_ingestion

        runtime.source, runtime.ingest = await start_cluster_ingestion(
            settings, database, runtime.endpoints.mqtt, stack, runtime.tasks, on_alerts=_log_alert_changes
        )
        return
    share = WorkerShare(settings.ingest.partition, settings.ingest.partitions)
    mqtt = runtime.endpoints.mqtt
    if not share.everything:  # each worker keeps its own session
        mqtt = mqtt.model_copy(update={"client_id": f"{mqtt.client_id}-p{share.index}"})
    source = MqttSource(mqtt)
    engine = DetectionEngine(
        default_detectors(), late_after=timedelta(seconds=settings.detection.late_after_s)
    )
    pipeline = Pipeline(
        db=database,
        directory=DeviceDirectory(database, settings.ingest.device_cache_s),
        engine=engine,
        topic_root=mqtt.topic_root,
        on_alerts=_log_alert_changes,
        resolve_on_clear=settings.detection.resolve_on_clear,
        partition=share,
        dead_letter_bound=DeadLetterBound(per_hour=settings.ingest.dead_letters_per_device_hour),
    )
    # Restore learned state, then replay what arrived since the checkpoint (readings the
    # restored state has already seen are skipped), so neither warm-up nor persistence restarts.
    ingest = IngestService(source, pipeline, settings.ingest)
    checkpointer = Checkpointer(
        engine,
        database,
        hold=lambda: pipeline.has_unwritten,
        watermark=ingest.unevaluated_since,
        owns=share.owns,
    )
    await checkpointer.restore()
    await pipeline.replay(settings.detection.replay_hours)
    stack.push_async_callback(checkpointer.save, everyone=True)
    checkpoints = Scheduler(
        [checkpoint_job(checkpointer, timedelta(seconds=settings.detection.checkpoint_s))]
    )
    checkpoints.start()
    stack.callback(checkpoints.stop)
    runtime.source, runtime.ingest = source, ingest
    await source.start()
    stack.push_async_callback(source.stop)
    runtime.tasks.append(asyncio.create_task(ingest.run(), name="ingest"))


async def _start_gateway(mqtt: MqttSettings, stack: AsyncExitStack) -> ReadingsGateway | None:
    """The API's publisher for Nightscout uploads, when there is a broker to publish to."""
    if mqtt.url is None:
        return None
    # Its own client id: never the ingestion session's, which the broker would hand over.
    gateway = ReadingsGateway(mqtt, client_id=f"rpm-ns-{os.getpid()}-{secrets.token_hex(3)}")
    await gateway.start()
    stack.push_async_callback(gateway.stop)
    return gateway


def _start_scheduler(runtime: Runtime, stack: AsyncExitStack) -> None:
    settings, database = runtime.settings, runtime.database
    jobs = [
        partition_job(database),
        glance_job(database, timedelta(seconds=settings.api.glance_refresh_s)),
        data_gap_job(database, on_alerts=_log_alert_changes),
        escalation_job(database, settings.alerts),
        webhook_job(database, settings.alerts, production=settings.environment == "production"),
        bulk_export_job(database, settings.api.export_dir, timedelta(hours=settings.api.export_keep_h)),
    ]
    runtime.scheduler = Scheduler(jobs)
    runtime.scheduler.start()
    stack.callback(runtime.scheduler.stop)


def _serve_http(runtime: Runtime, app: FastAPI, port: int) -> None:
    runtime.api_server = ApiServer(server_config(app, runtime.settings, port=port))
    runtime.tasks.append(asyncio.create_task(runtime.api_server.serve(), name="api"))


def _log_alert_changes(changes: Sequence[AlertChange]) -> None:
    """Operators see that alerts happen; what the readings were stays in the database (no PHI in logs)."""
    for change in changes:
        if change.kind in ("opened", "repeated", "cleared"):
            log.warning(
                "alert %s %s: %s [%s]", change.alert_id, change.kind, change.alert_type, change.severity
            )


async def _stop_tasks(runtime: Runtime) -> None:
    if runtime.api_server is not None:
        runtime.api_server.should_exit = True
    for task in runtime.tasks:
        if task.get_name() != "api":
            task.cancel()
    results = await asyncio.gather(*runtime.tasks, return_exceptions=True)
    for task, result in zip(runtime.tasks, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("%s stopped with %r", task.get_name(), result)
