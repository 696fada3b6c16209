"""Stage one on NATS: the holder of route partition ``k`` files its devices' messages under their patients.

Route partition ``k`` holds the messages of the devices whose serial hashes to
``k`` (the cluster's subject mapping), in the order they arrived. Its holder
reads only the subject, looks the device up, and files the payload unchanged
under the partition of the device's patient, one bundle per partition and
batch (``nats_bundle``), then acknowledges the batch, one batch at a time, so
each device's messages keep their order. A batch whose copies are not all
confirmed is published again until they are, or until the partition is handed
over (then the next holder gets the originals again); a copy stored twice is
stored as a reading once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import nats.errors
from nats.aio.msg import Msg

from monitoring.ingest.directory import DeviceDirectory
from monitoring.ingest.intake import serial_in
from monitoring.ingest.nats_bundle import Entry, pack
from monitoring.ingest.nats_link import MQTT_STREAM, NatsLink, Puller, subject_to_topic
from monitoring.ingest.nats_progress import InProgress
from monitoring.ingest.ownership import partition_of, partition_of_key
from monitoring.observability import metrics

log = logging.getLogger(__name__)

_FETCH = 500
_CONCURRENT = 4
_CONFIRM_S = 10.0  # longest wait for the partition stream to confirm a batch of copies


class Router:
    def __init__(
        self, link: NatsLink, directory: DeviceDirectory, progress: InProgress, *, partitions: int
    ) -> None:
        self.link = link
        self.directory = directory
        self.progress = progress
        self.partitions = partitions
        # Batches being published at once, across partitions: under overload, a batch must be
        # confirmed and acknowledged well within the ack wait, or it is delivered again.
        self._publishing = asyncio.Semaphore(_CONCURRENT)

    async def run(self, partition: int, stopping: Callable[[], bool]) -> None:
        """Route partition ``partition`` until ``stopping()``; the batch in hand is finished first."""
        puller = await Puller.bind(
            self.link.js, self.link.route_consumer(partition), MQTT_STREAM, f"route partition {partition}"
        )
        try:
            while not stopping():
                messages = await puller.next(_FETCH)
                if messages:
                    replies = [message.reply for message in messages]
                    self.progress.hold(replies)
                    try:
                        await self.route(messages, stopping)
                    finally:
                        self.progress.release(replies)
        finally:
            await puller.close()

    async def route(self, messages: Sequence[Msg], stopping: Callable[[], bool] = lambda: False) -> bool:
        """File ``messages`` under their patients' partitions; True once done and acknowledged."""
        root = self.link.mqtt.topic_root
        topics = [subject_to_topic(message.subject, root) for message in messages]
        serials = [serial_in(topic, root) for topic in topics]
        wanted = {serial for serial in serials if serial is not None}
        while True:
            try:
                devices = await self.directory.lookup(wanted)
                break
            except Exception as error:  # the registry is unreachable (a failover): wait, keep order
                if stopping():
                    return False
                log.warning("device lookup failed, routing waits: %r", error)
                await asyncio.sleep(0.5)
        received_ns = time.time_ns()
        bundles: dict[int, list[Entry]] = {}
        for message, topic, serial in zip(messages, topics, serials, strict=True):
            device = devices.get(serial) if serial is not None else None
            if device is not None and device.patient_id is not None:
                partition = partition_of(device.patient_id, self.partitions)
            else:
                partition = partition_of_key(serial if serial is not None else topic, self.partitions)
            bundles.setdefault(partition, []).append((topic, received_ns, message.data))
        copies = [(self.link.partition_subject(k), pack(entries)) for k, entries in bundles.items()]
        while not await self._publish_one_at_a_time(copies):
            if stopping():
                return False  # unacknowledged: the partition's next holder gets them again
            await asyncio.sleep(0.5)
        for message in messages:
            await _quietly(message.ack())
        metrics.MESSAGES_ROUTED.inc(len(messages))
        return True

    async def _publish_one_at_a_time(self, copies: list[tuple[str, bytes]]) -> bool:
        async with self._publishing:
            return await self._publish(copies)

    async def _publish(self, copies: list[tuple[str, bytes]]) -> bool:
        try:
            pending = [await self.link.js.publish_async(subject, data) for subject, data in copies]
            # A node that dies may never answer: its copies are unconfirmed, not lost.
            await asyncio.wait_for(asyncio.gather(*pending), timeout=_CONFIRM_S)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("%d copies not confirmed, publishing them again: %r", len(copies), error)
            return False
        return True


async def _quietly(acknowledgement: Awaitable[None]) -> None:
    try:
        await acknowledgement
    except nats.errors.Error as error:
        log.warning("acknowledgement not sent: %s", error)
