"""The connection to a NATS JetStream cluster, and the streams and consumers ingestion relies on.

Devices publish over MQTT (QoS 1) to the cluster's MQTT listeners. The
cluster's configuration maps each device's subject to one of the route
partitions, by a hash of the device serial (``route_mappings``: NATS subject
mapping, applied as a message arrives). NATS answers a QoS 1 PUBLISH only once
the message is stored, replicated, in its own ``$MQTT_msgs`` stream, an
interest-policy stream: a message is kept while a consumer that wants it has
not acknowledged it. Ingestion keeps one durable *route* consumer per
partition on that stream, so from the device's PUBACK on, a reading is held
by the cluster until a worker has passed it on.

Passing on (``nats_router``): the worker that leases partition ``k`` reads
route partition ``k`` in order, finds each device's patient, and publishes the
message to the partition stream under the patient's partition. Each of those
has its own durable consumer, read only by the worker that leases it
(``leases``). So each worker reads only its share, at both stages, and a
device's messages stay in order (a patient's devices may land in different
route partitions; their series are their own).

Messages a device publishes at QoS 0 are not in ``$MQTT_msgs`` and are not
ingested on this path; the wire contract asks for QoS 1.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import nats
import nats.errors
import paho.mqtt.client as paho
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError
from paho.mqtt.enums import CallbackAPIVersion

from monitoring.config import MqttSettings, NatsSettings

log = logging.getLogger(__name__)

MQTT_STREAM = "$MQTT_msgs"
MQTT_PREFIX = "$MQTT.msgs."
# How many messages a consumer may have delivered and unacknowledged at once. Every message is
# acknowledged on its own: with AckPolicy.ALL, a message a pull request delivered to the previous
# holder after it stopped reading (an orphaned pull) was acknowledged by the next holder's later
# acknowledgement and lost; the benchmark's first hand-over showed it (13 messages).
MAX_ACK_PENDING = 20_000
JETSTREAM_WAIT_S = 60.0
_NOT_YET = (nats.errors.TimeoutError, nats.errors.NoRespondersError, ServiceUnavailableError)
T = TypeVar("T")


CHANNELS = ("readings", "status")


def route_mappings(partitions: int) -> dict[str, str]:
    """The subject mappings the cluster's configuration must hold: device subject -> route partition.

    For any topic root: ``<root>.v1.devices.<serial>.<channel>`` becomes
    ``<root>.v1.route.<k>.<serial>.<channel>``, ``k`` a hash of the serial.
    """
    return {
        f"*.v1.devices.*.{channel}": f"{{{{wildcard(1)}}}}.v1.route.{{{{partition({partitions},2)}}}}"
        f".{{{{wildcard(2)}}}}.{channel}"
        for channel in CHANNELS
    }


def mappings_block(partitions: int) -> str:
    """``route_mappings`` as a block of NATS server configuration."""
    lines = [f'  "{source}": "{target}"' for source, target in route_mappings(partitions).items()]
    return "mappings: {\n" + "\n".join(lines) + "\n}\n"


def subject_to_topic(subject: str, root: str) -> str:
    """The MQTT topic behind a routed subject, ``[$MQTT.msgs.]root.v1.route.k.serial.channel``.

    NATS writes a ``.`` of an MQTT topic as ``//``."""
    parts = subject.removeprefix(MQTT_PREFIX).split(".")
    serial, channel = parts[-2].replace("//", "."), parts[-1]
    return f"{root}/v1/devices/{serial}/{channel}"


@dataclass
class NatsLink:
    settings: NatsSettings
    mqtt: MqttSettings
    client: NatsClient
    js: JetStreamContext

    @property
    def prefix(self) -> str:
        return self.settings.subject_prefix

    @property
    def eval_stream(self) -> str:
        return f"{self.prefix.upper()}_EVAL"

    def partition_subject(self, partition: int) -> str:
        """Where bundles of the devices' messages go, by their patients' partition."""
        return f"{self.prefix}.eval.{partition}"

    def partition_consumer(self, partition: int) -> str:
        return f"{self.prefix}-eval-{partition}"

    def route_consumer(self, partition: int) -> str:
        return f"{self.prefix}-route-{partition}"

    def route_filter(self, partition: int) -> str:
        return f"{MQTT_PREFIX}{self.mqtt.topic_root}.v1.route.{partition}.*.*"

    @property
    def first_server(self) -> tuple[str, int]:
        """Host and port of the first server named (its credentials left out): for health and logs."""
        named = self.settings.servers()[0]
        server = urlsplit(named if "://" in named else f"nats://{named}")
        return server.hostname or "127.0.0.1", server.port or 4222

    @classmethod
    async def connect(cls, settings: NatsSettings, mqtt: MqttSettings, *, name: str) -> NatsLink:
        secured = any(server.startswith("tls://") for server in settings.servers())
        client = await nats.connect(
            servers=settings.servers(),
            # The node's certificate is checked against the CA and the name in the URL.
            tls=ssl.create_default_context(cafile=settings.ca_file) if secured else None,
            name=name,
            connect_timeout=5,
            reconnect_time_wait=1,
            max_reconnect_attempts=-1,
            error_cb=_log_error,
            disconnected_cb=_log_disconnected,
            reconnected_cb=_log_reconnected,
        )
        link = cls(settings, mqtt, client, client.jetstream(timeout=10))
        await link.prepare()
        return link

    async def prepare(self) -> None:
        """The partition stream, the MQTT streams NATS creates for MQTT clients, and the route consumer."""
        await self._once_jetstream_answers()
        await self._ensure_stream(
            StreamConfig(
                name=self.eval_stream,
                subjects=[f"{self.prefix}.eval.*"],
                # Kept until the partition's consumer acknowledges it (consumers' filters are disjoint).
                retention=RetentionPolicy.INTEREST,
                storage=StorageType.FILE,
                num_replicas=self.settings.replicas,
                duplicate_window=0.0,  # no message ids: a second copy is stored once anyway
            )
        )
        await asyncio.to_thread(_open_mqtt_streams, self.mqtt)
        await self.check_mappings()
        # Every partition's consumers exist before any message could need them: in an
        # interest-policy stream a message nobody wants is dropped at once.
        for partition in range(self.settings.partitions):
            await self.ensure_partition_consumer(partition)
            await self._ensure_consumer(
                MQTT_STREAM, self._durable(self.route_consumer(partition), self.route_filter(partition))
            )

    async def check_mappings(self) -> None:
        """Refuse to start unless the cluster maps device subjects onto exactly these route partitions."""
        root, count = self.mqtt.topic_root, self.settings.partitions
        seen: asyncio.Queue[str] = asyncio.Queue()

        async def note(message: Msg) -> None:
            await seen.put(message.subject)

        probes = [f"rpm-probe-{i}" for i in range(4 * count)]
        subscription = await self.client.subscribe(f"{root}.v1.route.*.*.status", cb=note)
        try:
            for probe in probes:
                await self.client.publish(f"{root}.v1.devices.{probe}.status", b"")
            await self.client.flush(timeout=5)
            partitions: set[int] = set()
            try:
                for _ in probes:
                    subject = await asyncio.wait_for(seen.get(), timeout=2)
                    partitions.add(int(subject.split(".")[3]))
            except TimeoutError:
                partitions = set()
        finally:
            await subscription.unsubscribe()
        if not partitions or max(partitions) >= count:
            raise RuntimeError(
                f"the NATS cluster does not map device subjects onto {count} route partitions "
                f"(RPM_NATS__PARTITIONS); every node's configuration needs:\n{mappings_block(count)}"
            )

    async def ensure_partition_consumer(self, partition: int) -> None:
        await self._ensure_consumer(
            self.eval_stream,
            self._durable(self.partition_consumer(partition), self.partition_subject(partition)),
        )

    def _durable(self, name: str, subject: str) -> ConsumerConfig:
        """A partition's durable consumer: each message acknowledged on its own, state in memory.

        The state (what was delivered, what acknowledged) is replicated on the
        stream's nodes like the messages, but kept in their memory, not
        rewritten to a file on every change: with 64 consumers at 300 msg/s
        each node rewrote its consumers' state files about 350 times a second
        (about half the nodes' CPU was system time). A node that restarts gets
        the state back from the others. If every node stops at once, the state
        is gone and each consumer starts again from what its stream still
        holds: an interest-policy stream keeps only what was not acknowledged,
        so that, and at most the last acknowledgements before the stop, comes
        again (stored once, alerts applied idempotently); nothing is skipped.
        """
        return ConsumerConfig(
            durable_name=name,
            filter_subject=subject,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.settings.ack_wait_s,
            max_ack_pending=MAX_ACK_PENDING,
            mem_storage=True,
        )

    async def close(self) -> None:
        if not self.client.is_closed:
            await self.client.drain()

    async def _once_jetstream_answers(self) -> None:
        """Wait for a cluster that is still electing its meta leader (a worker started with it)."""
        await _patiently(self.js.account_info)
        await _patiently(self.js.streams_info)  # answered by the cluster's meta leader once there is one

    async def _ensure_stream(self, config: StreamConfig) -> None:
        name = config.name or ""
        try:
            info = await _patiently(lambda: self.js.stream_info(name))
        except NotFoundError:
            await _patiently(lambda: self.js.add_stream(config))
            log.info("created stream %s (%d replicas)", config.name, config.num_replicas or 1)
            return
        if info.config.subjects != config.subjects:  # an earlier version's layout
            await _patiently(lambda: self.js.update_stream(config))
            log.info("updated stream %s to subjects %s", config.name, config.subjects)

    async def _ensure_consumer(self, stream: str, config: ConsumerConfig) -> None:
        try:
            await _patiently(lambda: self.js.add_consumer(stream, config))
        except ServiceUnavailableError:  # still no leader after JETSTREAM_WAIT_S
            raise
        except APIError as error:  # exists with a configuration that cannot change: keep it, say so
            log.error(
                "consumer %s on %s exists with another configuration, kept as it is "
                "(delete it to have it made again): %s",
                config.durable_name,
                stream,
                error,
            )


async def _patiently(request: Callable[[], Awaitable[T]]) -> T:
    """``request()``, asked again while the cluster has no leader for it (at most ``JETSTREAM_WAIT_S``).

    Three nodes started together on a busy machine took longer than a request's
    timeout to elect their meta leader; a node started again takes a while to
    elect the leaders of the streams and consumers it holds a copy of, and a
    worker starting or taking partitions over meanwhile asks them.
    """
    deadline = time.monotonic() + JETSTREAM_WAIT_S
    while True:
        try:
            return await request()
        except _NOT_YET as error:
            if time.monotonic() > deadline:
                raise
            log.warning("waiting for the NATS cluster's JetStream: %s", error or type(error).__name__)
            await asyncio.sleep(1.0)


def _open_mqtt_streams(mqtt: MqttSettings) -> None:
    """NATS creates its MQTT streams at the first MQTT connection: connect once, as the service."""
    host, port, username, password = mqtt.endpoint()
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{mqtt.client_id}-setup-{secrets.token_hex(3)}",
        protocol=paho.MQTTv311,
        clean_session=True,
    )
    if username:
        client.username_pw_set(username, password)
    if mqtt.tls:
        client.tls_set(ca_certs=str(mqtt.ca_file) if mqtt.ca_file else None)
    client.connect(host, port, keepalive=10)
    try:
        client.loop_start()
        deadline = time.monotonic() + 10
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not client.is_connected():
            raise ConnectionError(f"the cluster's MQTT listener {host}:{port} did not accept the service")
    finally:
        client.disconnect()
        client.loop_stop()


async def _log_error(error: Exception) -> None:
    log.warning("NATS: %s", error)


async def _log_disconnected() -> None:
    log.warning("NATS: disconnected")


async def _log_reconnected() -> None:
    log.info("NATS: reconnected")


class Puller:
    """A durable pull consumer read by one loop: quiet when empty, patient while the cluster changes."""

    # A fetch returns what is there, or waits up to this for a first message and returns soon after
    # it (the server ends the request once it has sent what it holds), so the wait adds no delay to
    # a reading. What it costs: every quiet partition asks twice per wait at both stages, and a
    # partition handed over waits for its fetch in flight. Measured with one worker holding 32
    # partitions and almost no load: 0.25 s took 15 % of the machine for the three nodes and 5 % for
    # the worker; 1 s, 8 % and 2 % (2 s, 7 % and 2 %), with publish -> alert unchanged (27-29 ms p50).
    WAIT_S = 1.0

    def __init__(self, subscription: JetStreamContext.PullSubscription, label: str) -> None:
        self.subscription = subscription
        self.label = label
        self._failing = False

    @classmethod
    async def bind(cls, js: JetStreamContext, consumer: str, stream: str, label: str) -> Puller:
        return cls(await js.pull_subscribe_bind(consumer, stream=stream), label)

    async def next(self, batch: int) -> list[Msg]:
        """Up to ``batch`` messages, or none; a closed connection is raised, anything else waited out."""
        try:
            messages = await self.subscription.fetch(batch, timeout=self.WAIT_S)
        except TimeoutError:  # nothing new (nats' own TimeoutError is one too)
            return []
        except nats.errors.ConnectionClosedError:
            raise
        except Exception as error:  # a node or the connection is changing: try again soon
            if not self._failing:
                log.warning("%s failing (logged once until it works again): %s", self.label, error)
            self._failing = True
            await asyncio.sleep(0.5)
            return []
        self._failing = False
        return messages

    async def close(self) -> None:
        try:
            await self.subscription.unsubscribe()
        except nats.errors.Error:
            pass
