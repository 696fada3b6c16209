"""A device's MQTT client with store-and-forward: record readings durably, deliver them in order.

``record`` writes a message to the outbox and returns at once. A network thread
connects (exponential back-off with jitter between attempts), announces the
device online (retained), and sends waiting messages oldest first at QoS 1 with
a bounded number in flight. A message leaves the outbox only on the broker's
PUBACK. After a disconnection, everything still waiting is sent again from the
oldest; the server stores readings idempotently, so a repeat is harmless.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from devices.contract import (
    DEFAULT_TOPIC_ROOT,
    DeviceStatus,
    Reading,
    ReadingsMessage,
    client_id,
    encode,
    readings_topic,
    status_topic,
)
from devices.outbox import Outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    # MQTT 5 where the broker speaks it; "3.1.1" for brokers that do not.
    protocol: str = "5"
    # TLS (port 8883): the broker's certificate and name are checked against this CA file,
    # or the system's trust store when it is None.
    tls: bool = False
    ca_file: str | None = None


@dataclass(slots=True)
class Backoff:
    """Exponential back-off with jitter: each wait is between half and all of the current step."""

    initial_s: float = 0.5
    maximum_s: float = 60.0
    attempt: int = 0

    def next_delay(self, rng: random.Random) -> float:
        step = min(self.maximum_s, self.initial_s * float(2**self.attempt))
        self.attempt += 1
        return float(step / 2 + rng.uniform(0, step / 2))

    def reset(self) -> None:
        self.attempt = 0


class DeviceClient:
    """One device's connection and outbox. ``start``, ``record`` as often as needed, ``stop``."""

    def __init__(
        self,
        device_id: str,
        broker: BrokerAddress,
        outbox: Outbox,
        *,
        kind: str,
        firmware: str = "1.0.0",
        root: str = DEFAULT_TOPIC_ROOT,
        window: int = 64,
        backoff: Backoff | None = None,
        seed: int | None = None,
    ) -> None:
        self.device_id = device_id
        self.broker = broker
        self.outbox = outbox
        self.kind = kind
        self.firmware = firmware
        self.root = root
        self.window = window
        self.backoff = backoff or Backoff()
        self.battery: float | None = 100.0
        self.connections = 0
        self._rng = random.Random(seed)
        self._topic = readings_topic(device_id, root)
        self._status_topic = status_topic(device_id, root)
        self._stop = threading.Event()
        self._online = threading.Event()  # wanted online (cleared to simulate a dropout)
        self._online.set()
        self._connected = threading.Event()
        self._drained = threading.Condition()
        self._inflight: dict[int, int] = {}  # paho mid -> seq
        self._goodbye = True
        self._thread: threading.Thread | None = None
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        v5 = self.broker.protocol == "5"
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id(self.device_id),
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set(ca_certs=self.broker.ca_file)
        client.will_set(
            self._status_topic,
            encode(DeviceStatus(device_id=self.device_id, state="offline", kind=self.kind)),
            qos=1,
            retain=True,
        )
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        return client

    # -- the producer side ---------------------------------------------------

    def record(self, readings: Sequence[Reading], *, sent_at: datetime | None = None) -> int:
        """Store one message durably for sending; return its sequence number."""
        when = sent_at or datetime.now(UTC)

        def build(seq: int) -> bytes:
            return encode(
                ReadingsMessage(device_id=self.device_id, seq=seq, sent_at=when, readings=list(readings))
            )

        return self.outbox.append(build)

    def record_raw(self, payload: bytes) -> int:
        """Store an arbitrary payload (fault injection: malformed or duplicated messages)."""
        return self.outbox.append(lambda _seq: payload)

    @property
    def pending(self) -> int:
        return len(self.outbox)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def flush(self, timeout_s: float) -> bool:
        """Wait until the outbox is empty (everything acknowledged); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._drained:
            while len(self.outbox) > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._drained.wait(min(remaining, 0.2))
        return True

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"device-{self.device_id}", daemon=True)
        self._thread.start()

    def go_offline(self) -> None:
        """Drop the connection without a goodbye (a dropout); readings keep queueing."""
        self._online.clear()

    def go_online(self) -> None:
        self._online.set()

    def stop(self, timeout_s: float = 10.0, *, goodbye: bool = True) -> None:
        """Stop the network thread; with ``goodbye``, publish a retained offline status first."""
        self._goodbye = goodbye
        self._stop.set()
        self._online.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def close(self) -> None:
        self.outbox.close()

    # -- the network thread --------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._online.wait()
            if self._stop.is_set():
                break
            # A fresh paho client per connection: nothing of a broken one (its in-flight
            # bookkeeping above all) carries over. The outbox is what must survive, and does.
            self._client = self._make_client()
            try:
                self._client.connect(self.broker.host, self.broker.port, keepalive=30)
            except OSError as error:
                log.debug("device %s cannot connect: %s", self.device_id, error)
                self._stop.wait(self.backoff.next_delay(self._rng))
                continue
            self._session()
            if not self._stop.is_set() and self._online.is_set():
                self._stop.wait(self.backoff.next_delay(self._rng))
        if self._goodbye:
            self._say_goodbye()

    def _session(self) -> None:
        """Serve one connection until it breaks, the device goes offline or is stopped."""
        last_sent = -1
        self._inflight.clear()
        while not self._stop.is_set() and self._online.is_set():
            rc = self._client.loop(timeout=0.02)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                log.info("device %s connection ended: %s", self.device_id, rc)
                break
            if not self._connected.is_set():
                continue
            room = self.window - len(self._inflight)
            if room <= 0:
                continue
            for seq, payload in self.outbox.peek(after=last_sent, limit=room):
                info = self._client.publish(self._topic, payload, qos=1)
                if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
                self._inflight[info.mid] = seq
                last_sent = seq
        if not self._online.is_set() and not self._stop.is_set():
            # A dropout: cut the line without DISCONNECT, as a device losing coverage would.
            sock = self._client.socket()
            if sock is not None:
                sock.close()
            self._client.loop(timeout=0.01)
        self._connected.clear()

    def _say_goodbye(self) -> None:
        if not self._client.is_connected():
            return
        info = self._client.publish(self._status_topic, self._status("offline"), qos=1, retain=True)
        deadline = time.monotonic() + 5
        while not info.is_published() and time.monotonic() < deadline:
            if self._client.loop(timeout=0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        self._client.disconnect()
        self._client.loop(timeout=0.05)
        self._connected.clear()

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

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            log.warning("device %s refused by broker: %s", self.device_id, reason)
            return
        self.connections += 1
        self.backoff.reset()
        client.publish(self._status_topic, self._status("online"), qos=1, retain=True)
        self._connected.set()

    def _on_publish(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        seq = self._inflight.pop(mid, None)
        if seq is None:
            return  # a status message
        self.outbox.remove([seq])
        with self._drained:
            self._drained.notify_all()
