"""Publishing from a device over MQTT, as the wire contract says.

QoS 1 readings with a per-device sequence number, a retained online status with
battery and firmware, and a retained offline status as the MQTT last will so the
broker announces a device that vanishes. Synchronous, on purpose: this is what
a gateway runs, and it needs nothing but paho-mqtt and msgspec.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from devices.contract import (
    DEFAULT_TOPIC_ROOT,
    DeviceStatus,
    Reading,
    ReadingsMessage,
    encode,
    readings_topic,
    status_topic,
)


class PublishError(RuntimeError):
    """The broker did not take a message in time."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    # MQTT 5 where the broker speaks it; "3.1.1" for brokers that do not.
    protocol: str = "5"


class DevicePublisher:
    """One device's MQTT connection. ``connect``, then ``publish`` batches, then ``close``."""

    def __init__(
        self,
        device_id: str,
        broker: BrokerAddress,
        *,
        kind: str,
        firmware: str = "sim-1.0",
        root: str = DEFAULT_TOPIC_ROOT,
        first_seq: int = 0,
    ) -> None:
        self.device_id = device_id
        self.broker = broker
        self.kind = kind
        self.firmware = firmware
        self.root = root
        self.next_seq = first_seq
        self.battery: float | None = 100.0
        v5 = broker.protocol == "5"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"device-{device_id}",
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        )
        if broker.username:
            self._client.username_pw_set(broker.username, broker.password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        self._client.will_set(
            status_topic(device_id, root),
            encode(DeviceStatus(device_id=device_id, state="offline", kind=kind)),
            qos=1,
            retain=True,
        )
        self._client.on_connect = self._on_connect
        self._connected = threading.Event()

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            return
        # Announce presence on every (re)connection; retained, so late subscribers see it.
        client.publish(status_topic(self.device_id, self.root), self._status("online"), qos=1, retain=True)
        self._connected.set()

    def _status(self, state: str) -> bytes:
        return encode(
            DeviceStatus(
                device_id=self.device_id,
                state="online" if state == "online" else "offline",
                at=datetime.now(UTC),
                battery=self.battery,
                firmware=self.firmware,
                kind=self.kind,
            )
        )

    def connect(self, timeout_s: float = 10.0) -> None:
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(timeout_s):
            self._client.loop_stop()
            raise PublishError(f"could not connect to {self.broker.host}:{self.broker.port}")

    def publish(
        self, readings: Sequence[Reading], *, sent_at: datetime | None = None, timeout_s: float = 10.0
    ) -> int:
        """Publish one batch at QoS 1 and wait for the broker's acknowledgement; return its seq."""
        seq = self.next_seq
        message = ReadingsMessage(
            device_id=self.device_id,
            seq=seq,
            sent_at=sent_at or datetime.now(UTC),
            readings=list(readings),
        )
        self.publish_raw(encode(message), timeout_s=timeout_s)
        self.next_seq = seq + 1
        return seq

    def publish_raw(self, payload: bytes, *, timeout_s: float = 10.0) -> None:
        """Publish bytes on this device's readings topic (tests use it to send malformed ones)."""
        info = self._client.publish(readings_topic(self.device_id, self.root), payload, qos=1)
        info.wait_for_publish(timeout_s)
        if not info.is_published():
            raise PublishError(f"broker did not acknowledge message {info.mid} in {timeout_s} s")

    def close(self, timeout_s: float = 5.0) -> None:
        """Say goodbye (retained offline status), then disconnect; the last will is not sent."""
        if self._connected.is_set():
            info = self._client.publish(
                status_topic(self.device_id, self.root), self._status("offline"), qos=1, retain=True
            )
            info.wait_for_publish(timeout_s)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
