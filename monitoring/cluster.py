"""Ingestion as one of several workers on a NATS JetStream cluster: route, lease, evaluate.

Assembled like the MQTT worker (``runtime._start_ingestion``), with three
differences: messages come from the partitions this worker leases, every
worker also routes device messages to partitions, and detector state moves
with the partitions at run time instead of being restored once at start.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta

from monitoring.config import MqttSettings, Settings
from monitoring.detection.checkpoints import Checkpointer
from monitoring.detection.engine import DetectionEngine
from monitoring.detection.lineup import default_detectors
from monitoring.handover import PartitionHandover
from monitoring.ingest.directory import DeviceDirectory
from monitoring.ingest.leases import LeaseKeeper, worker_name
from monitoring.ingest.nats_link import NatsLink
from monitoring.ingest.nats_progress import InProgress
from monitoring.ingest.nats_router import Router
from monitoring.ingest.nats_source import JetStreamSource
from monitoring.ingest.quota import DeadLetterBound
from monitoring.jobs.detection import checkpoint_job
from monitoring.jobs.scheduler import Scheduler
from monitoring.pipeline import AlertListener, Pipeline
from monitoring.storage.db import Database
from monitoring.worker import IngestService


async def start_cluster_ingestion(
    settings: Settings,
    database: Database,
    mqtt: MqttSettings,
    stack: AsyncExitStack,
    tasks: list[asyncio.Task[None]],
    *,
    on_alerts: AlertListener,
) -> tuple[JetStreamSource, IngestService]:
    name = worker_name()
    link = await NatsLink.connect(settings.nats, mqtt, name=name)
    stack.push_async_callback(link.close)
    directory = DeviceDirectory(database, settings.ingest.device_cache_s)
    engine = DetectionEngine(
        default_detectors(), late_after=timedelta(seconds=settings.detection.late_after_s)
    )
    pipeline = Pipeline(
        db=database,
        directory=directory,
        engine=engine,
        topic_root=mqtt.topic_root,
        on_alerts=on_alerts,
        resolve_on_clear=settings.detection.resolve_on_clear,
        dead_letter_bound=DeadLetterBound(per_hour=settings.ingest.dead_letters_per_device_hour),
    )
    progress = InProgress(link.client, settings.nats.ack_wait_s)
    router = Router(link, directory, progress, partitions=settings.nats.partitions)
    source = JetStreamSource(link, router, progress)
    stack.push_async_callback(source.stop)
    ingest = IngestService(source, pipeline, settings.ingest)
    checkpointer = Checkpointer(
        engine, database, hold=lambda: pipeline.has_unwritten, watermark=ingest.unevaluated_since
    )
    handover = PartitionHandover(
        source=source,
        ingest=ingest,
        checkpointer=checkpointer,
        partitions=settings.nats.partitions,
        replay_hours=settings.detection.replay_hours,
    )
    keeper = LeaseKeeper(
        database, handover, partitions=settings.nats.partitions, lease_s=settings.nats.lease_s, worker=name
    )
    await keeper.join()
    stack.push_async_callback(keeper.leave)
    every = timedelta(seconds=settings.detection.checkpoint_s)
    checkpoints = Scheduler([checkpoint_job(checkpointer, every)])
    checkpoints.start()
    stack.callback(checkpoints.stop)
    tasks.append(asyncio.create_task(keeper.run(), name="leases"))
    tasks.append(asyncio.create_task(progress.run(), name="in-progress"))
    tasks.append(asyncio.create_task(ingest.run(), name="ingest"))
    return source, ingest
