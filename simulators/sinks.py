"""Where the simulated devices' messages go: a real broker, or a JSONL file in wire format."""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Protocol

from devices.client import BrokerAddress, DeviceClient
from devices.contract import DEFAULT_TOPIC_ROOT, ReadingsMessage, encode
from devices.outbox import Outbox
from simulators.engine import Item, Presence, Send


class Sink(Protocol):
    def handle(self, item: Item, kind: str) -> None: ...

    def finish(self, timeout_s: float) -> int:
        """Deliver what is still waiting; return how many messages could not be delivered."""
        ...


class JsonlSink:
    """One wire-format readings message per line. A device that is offline holds its messages."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.seq: dict[str, int] = defaultdict(int)
        self.offline: dict[str, list[Send]] = {}
        self.messages = 0

    def handle(self, item: Item, kind: str) -> None:
        if isinstance(item, Presence):
            if not item.online:
                self.offline.setdefault(item.serial, [])
            else:
                for held in self.offline.pop(item.serial, []):
                    self._write(held, sent_at=item)
            return
        if item.serial in self.offline:
            self.offline[item.serial].append(item)
        else:
            self._write(item, sent_at=None)

    def _write(self, send: Send, sent_at: Presence | None) -> None:
        seq = self.seq[send.serial]
        if send.duplicate:
            seq -= 1
        else:
            self.seq[send.serial] = seq + 1
        message = ReadingsMessage(
            device_id=send.serial,
            seq=seq,
            sent_at=sent_at.at if sent_at else send.at,
            readings=list(send.readings),
        )
        self.out.write(encode(message) + b"\n")
        self.messages += 1

    def finish(self, timeout_s: float) -> int:
        for serial in list(self.offline):
            for held in self.offline.pop(serial):
                self._write(held, sent_at=None)
        self.out.flush()
        return 0


# paho's select() cannot watch descriptors above 1023, and each client holds three.
MAX_CLIENTS_PER_PROCESS = 300


class MqttSink:
    """A ``DeviceClient`` (with its durable outbox) per simulated device, over a real broker."""

    def __init__(
        self,
        broker: BrokerAddress,
        outbox_dir: Path,
        *,
        root: str = DEFAULT_TOPIC_ROOT,
        firmware: str = "sim-2.0",
        credentials: Mapping[str, str] | None = None,
        window: int = 64,
    ) -> None:
        """``credentials``: each device's MQTT password by serial (its username); else ``broker``'s.
        ``window``: messages each device has in flight (unacknowledged) at most."""
        self.broker = broker
        self.credentials = credentials
        self.outbox_dir = outbox_dir
        self.root = root
        self.firmware = firmware
        self.clients: dict[str, DeviceClient] = {}
        self.last_payload: dict[str, bytes] = {}
        self.messages = 0
        self.window = window

    def client(self, serial: str, kind: str) -> DeviceClient:
        found = self.clients.get(serial)
        if found is None:
            if len(self.clients) >= MAX_CLIENTS_PER_PROCESS:
                raise RuntimeError(
                    f"more than {MAX_CLIENTS_PER_PROCESS} devices in one process; split the cohort "
                    "across processes (paho-mqtt's select() cannot watch more sockets)"
                )
            # One outbox file for the whole simulated fleet: few file descriptors per device.
            outbox = Outbox(self.outbox_dir / "outbox.db", device=serial)
            broker = self.broker
            if self.credentials is not None:
                broker = dataclasses.replace(broker, username=serial, password=self.credentials.get(serial))
            found = DeviceClient(
                serial, broker, outbox, kind=kind, firmware=self.firmware, root=self.root, window=self.window
            )
            found.start()
            self.clients[serial] = found
        return found

    def handle(self, item: Item, kind: str) -> None:
        client = self.client(item.serial, kind)
        if isinstance(item, Presence):
            if item.online:
                client.go_online()
            else:
                client.go_offline()
            return
        if item.duplicate and item.serial in self.last_payload:
            client.record_raw(self.last_payload[item.serial])
        else:

            def build(seq: int, send: Send = item) -> bytes:
                payload = encode(
                    ReadingsMessage(
                        device_id=send.serial, seq=seq, sent_at=send.at, readings=list(send.readings)
                    )
                )
                self.last_payload[send.serial] = payload
                return payload

            client.outbox.append(build)
        self.messages += 1

    def backlog(self) -> int:
        return sum(c.pending for c in self.clients.values())

    def finish(self, timeout_s: float) -> int:
        for client in self.clients.values():
            client.go_online()
        deadline = time.monotonic() + timeout_s
        for client in self.clients.values():
            client.flush(max(0.0, deadline - time.monotonic()))
        left = self.backlog()
        for client in self.clients.values():
            client.stop()
            client.close()
        return left
