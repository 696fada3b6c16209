"""Hands an uploader's readings to the broker as its device, and answers once the broker has them.

Nightscout uploads arrive over HTTP, but readings have one way in: the device's MQTT topic, read by
ingestion, which standardises them, stores each once and runs the detectors. This publisher signs
in with the service's own broker account (its ACL may write any device's readings topic) under its
own client id, publishes at QoS 1 and waits for each PUBACK: a 200 to the uploader means the
broker holds the readings, as a device's PUBACK does. A broker that is away, or slow past
``timeout_s``, is a 503 and the uploader sends again; a reading sent twice is stored once.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from devices.contract import MAX_READINGS_PER_MESSAGE, Reading, ReadingsMessage, encode, readings_topic
from monitoring.config import MqttSettings
from monitoring.errors import DomainError

_EARLY_KEPT_S = 5.0


class BrokerUnavailableError(DomainError):
    status_code = 503
    code = "broker_unavailable"
    retry_after_s = 30


class ReadingsGateway:
    def __init__(self, settings: MqttSettings, *, client_id: str, timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        host, port, username, password = settings.endpoint()
        self._address = (host, port)
        v5 = settings.protocol == "5"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else True,
        )
        if username:
            self._client.username_pw_set(username, password)
        if settings.tls:
            self._client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = {}
        # PUBACKs that came before their waiter was registered (when, reason); see ``_send``.
        self._early: dict[int, tuple[float, ReasonCode | None]] = {}
        self._seq = itertools.count(time.time_ns() // 1_000_000)
        self.connected = threading.Event()

    async def start(self) -> None:
        self._client.connect_async(*self._address, keepalive=self.settings.keepalive_s)
        self._client.loop_start()

    async def stop(self) -> None:
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    async def publish(self, serial: str, readings: Sequence[Reading]) -> int:
        """Send the readings as device ``serial``; returns the number of messages the broker took."""
        if not self.connected.is_set():
            raise BrokerUnavailableError(
                f"the message broker at {self._address[0]}:{self._address[1]} is not reachable; "
                "nothing was taken, send again"
            )
        topic = readings_topic(serial, self.settings.topic_root)
        waits = []
        for start in range(0, len(readings), MAX_READINGS_PER_MESSAGE):
            message = ReadingsMessage(
                device_id=serial,
                seq=next(self._seq),
                sent_at=datetime.now(UTC),
                readings=list(readings[start : start + MAX_READINGS_PER_MESSAGE]),
            )
            waits.append(self._send(topic, encode(message)))
        try:
            await asyncio.wait_for(asyncio.gather(*waits), self.timeout_s)
        except TimeoutError:
            raise BrokerUnavailableError(
                f"the message broker did not confirm within {self.timeout_s:g} s; send again "
                "(readings it did take are stored once)"
            ) from None
        return len(waits)

    def _send(self, topic: str, payload: bytes) -> asyncio.Future[None]:
        """Publish; the future settles on the PUBACK.

        Not under ``_lock``: paho calls ``on_publish`` holding its own message lock, which
        ``publish`` takes too. A PUBACK can therefore come before the waiter is registered; it is
        kept in ``_early`` a few seconds for that (message ids are reused only after 65,535 more).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        info = self._client.publish(topic, payload, qos=1)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            _fail(
                future,
                f"the message broker did not take the readings ({paho.error_string(info.rc)}); send again",
            )
            return future
        with self._lock:
            now = time.monotonic()
            self._early = {mid: e for mid, e in self._early.items() if now - e[0] < _EARLY_KEPT_S}
            early = self._early.pop(info.mid, None)
            if early is None:
                self._waiting[info.mid] = (loop, future)
        if early is not None:
            _settle(future, early[1])
        return future

    # -- paho network thread -------------------------------------------------

    def _on_connect(
        self, client: paho.Client, userdata: object, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if not reason.is_failure:
            self.connected.set()

    def _on_disconnect(
        self, client: paho.Client, userdata: object, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        self.connected.clear()
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for loop, future in waiting.values():
            loop.call_soon_threadsafe(
                _fail, future, "the connection to the message broker dropped; send again"
            )

    def _on_publish(
        self, client: paho.Client, userdata: object, mid: int, reason: ReasonCode, properties: Any
    ) -> None:
        with self._lock:
            found = self._waiting.pop(mid, None)
            if found is None:
                self._early[mid] = (time.monotonic(), reason)
                return
        loop, future = found
        loop.call_soon_threadsafe(_settle, future, reason)


def _settle(future: asyncio.Future[None], reason: ReasonCode | None) -> None:
    if future.done():
        return
    if reason is not None and reason.is_failure:
        future.set_exception(BrokerUnavailableError(f"the message broker refused the readings ({reason})"))
    else:
        future.set_result(None)


def _fail(future: asyncio.Future[None], message: str) -> None:
    if not future.done():
        future.set_exception(BrokerUnavailableError(message))
