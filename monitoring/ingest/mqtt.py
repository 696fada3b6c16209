"""The broker side of ingestion: a paho-mqtt client on a persistent session with manual acknowledgement.

paho runs its network thread; each message is appended to a deque and the
asyncio side is woken at most once per burst, so the hand-over costs little
more than an append. Messages are acknowledged only when the pipeline says
they are stored. An acknowledgement is sent only on the connection that
delivered the message: after a reconnect the broker redelivers whatever was
not acknowledged, and storage makes the redelivery harmless.

Readings are never retained (the contract says so). A device that publishes
them retained would have the broker hand the message to every new ingestion
session again. So: on MQTT 5 the readings subscription asks for no retained
messages at subscribe time and for the retain flag as published, and a live
readings message that was published retained is stored and its retained copy
cleared (an empty retained publish); on MQTT 3.1.1, where the flag marks the
replay to a new subscription, the replay is acknowledged unread and cleared.
The empty message that clears it comes back to ingestion and is dropped, as is
any empty readings message (MQTT's way to delete a retained one).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from devices.contract import subscription
from monitoring.config import MqttSettings
from monitoring.ingest.paho_client import BatchingClient
from monitoring.ingest.records import Inbound
from monitoring.ingest.source import gather_batch, oldest
from monitoring.observability import metrics

log = logging.getLogger(__name__)


class MqttSource:
    """Delivers broker messages in batches and acknowledges them on request."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.host, self.port, username, password = settings.endpoint()
        v5 = settings.protocol == "5"
        self._client = BatchingClient(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if username:
            self._client.username_pw_set(username, password)
        if settings.tls:  # certificate and host name verified against ca_file (or the system's CAs)
            self._client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_payload = self._on_payload
        self._client.on_subscribe = self._on_subscribe
        self._pending: deque[Inbound] = deque()
        self._generation = 0
        self._lock = threading.Lock()
        self._wake = asyncio.Event()
        self._signalled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connected = False
        # True once the broker has confirmed the subscriptions of the current connection.
        self.subscribed = False
        self.received = 0

    @property
    def v5(self) -> bool:
        return self.settings.protocol == "5"

    def _filters(self) -> list[tuple[str, Any]]:
        root = self.settings.topic_root
        group = self.settings.shared_group
        readings = subscription("readings", root)
        if group:
            readings = f"$share/{group}/{readings}"
        status = subscription("status", root)
        if not self.v5:
            # Status is low volume and retained: every worker keeps its own copy.
            return [(readings, 1), (status, 1)]
        no_replay = SubscribeOptions(
            qos=1, retainAsPublished=True, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND
        )
        return [(readings, no_replay), (status, SubscribeOptions(qos=1))]

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        properties: Properties | None = None
        kwargs: dict[str, Any] = {}
        if self.settings.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.settings.session_expiry_s
            properties.ReceiveMaximum = self.settings.receive_maximum
            kwargs["clean_start"] = False
        self._client.connect_async(
            self.host,
            self.port,
            keepalive=self.settings.keepalive_s,
            properties=properties,
            **kwargs,
        )
        self._client.loop_start()

    async def stop(self) -> None:
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self.connected = False
        self.subscribed = False

    # -- paho network thread -------------------------------------------------

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._generation += 1
        self.connected = True
        self.subscribed = False
        client.subscribe(self._filters())
        log.info("connected to %s:%d (session present: %s)", self.host, self.port, flags.session_present)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connected = False
        self.subscribed = False
        log.warning("disconnected from broker: %s", reason)

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [r for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused subscriptions: %s", refused)
            return
        self.subscribed = True

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        """paho's general path (only QoS 2 would take it: we subscribe at QoS 1)."""
        self._on_payload(message.topic, bytes(message.payload), message.mid, message.qos, message.retain)

    def _on_payload(self, topic: str, payload: bytes, mid: int, qos: int, retain: bool = False) -> None:
        if (
            (retain or not payload)
            and topic.endswith("/readings")
            and not self._keep_retained(topic, payload, mid, qos)
        ):
            return
        self._pending.append(
            Inbound(
                topic=topic,
                payload=payload,
                received_at=datetime.now(UTC),
                mid=mid,
                qos=qos,
                generation=self._generation,
            )
        )
        self.received += 1
        if not self._signalled and self._loop is not None:
            self._signalled = True
            self._loop.call_soon_threadsafe(self._wake.set)

    def _keep_retained(self, topic: str, payload: bytes, mid: int, qos: int) -> bool:
        """A retained readings message: clear it on the broker; keep it only if it is a live delivery.

        An empty one is the clearing itself (MQTT's way to delete a retained message): dropped.
        """
        if payload:
            self._client.publish(topic, b"", qos=1, retain=True)
            metrics.RETAINED_READINGS.inc()
            log.warning("cleared a retained readings message on %s (devices must not retain readings)", topic)
        live = self.v5 and bool(payload)
        if not live and qos == 1:
            self._client.ack_many([mid])  # nothing to store: the replay of a message already delivered
        return live

    # -- asyncio side --------------------------------------------------------

    async def next_batch(self, max_size: int, flush_s: float) -> list[Inbound]:
        """Wait for at least one message, then gather up to ``max_size`` for at most ``flush_s``."""
        while not self._pending:
            self._signalled = False
            self._wake.clear()
            if self._pending:
                break
            await self._wake.wait()
        return await gather_batch(self._pending, max_size, flush_s)

    def oldest_pending(self) -> datetime | None:
        return oldest(self._pending)

    def acknowledge(self, batch: Sequence[Inbound]) -> None:
        with self._lock:
            generation = self._generation
        self._client.ack_many(
            inbound.mid for inbound in batch if inbound.qos == 1 and inbound.generation == generation
        )
