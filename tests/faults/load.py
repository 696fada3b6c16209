"""Load for a fault run: simulated wearables that publish heart rates and keep a ledger of every reading.

Each device is a real ``DeviceClient`` (outbox, QoS 1, reconnect with
back-off), so a broker restart or a dropout is lived through exactly as in the
field. One driver thread records a message of five readings per device per
tick, bounded in ticks and in time. An *episode* replaces a device's normal
heart rate (about 72/min) with a bradycardia (28-35/min) for a few messages:
that must raise one ``threshold.heart_rate.low`` alert whatever is broken.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devices.client import Backoff, BrokerAddress, DeviceClient
from devices.contract import Reading
from devices.outbox import Outbox

PER_MESSAGE = 5
EPISODE_MESSAGES = 3  # 15 readings below the limit of 40/min; the rule needs 5 in a row
_SPACING = timedelta(milliseconds=40)


@dataclass
class FleetDevice:
    serial: str
    client: DeviceClient
    rng: random.Random
    published: dict[datetime, float] = field(default_factory=dict)
    episode_left: int = 0
    episode_started_at: datetime | None = None
    last_at: datetime | None = None

    def tick(self) -> None:
        """Record one message: normal heart rates, or the next part of an episode."""
        in_episode = self.episode_left > 0
        readings: list[Reading] = []
        now = datetime.now(UTC) - PER_MESSAGE * _SPACING
        at = now if self.last_at is None else max(now, self.last_at + _SPACING)
        for _ in range(PER_MESSAGE):
            value = float(self.rng.randint(28, 35) if in_episode else round(self.rng.gauss(72, 3)))
            readings.append(Reading(metric="heart_rate", unit="/min", at=at, value=value))
            self.published[at] = value
            self.last_at = at
            at += _SPACING
        if in_episode:
            if self.episode_started_at is None:
                self.episode_started_at = readings[0].at
            self.episode_left -= 1
        self.client.record(readings)


class Fleet:
    """The devices of a run and the thread that drives them."""

    def __init__(
        self,
        serials: list[str],
        *,
        ports: list[int],
        topic_root: str,
        outboxes: Path,
        seed: int,
        tick_s: float,
        protocol: str = "5",
        passwords: dict[str, str] | None = None,
    ) -> None:
        """Device ``i`` connects to ``ports[i % len(ports)]`` (the nodes of a cluster, in turn),
        as itself with its password from ``passwords``, or anonymously."""
        passwords = passwords or {}

        def address(i: int, serial: str) -> BrokerAddress:
            password = passwords.get(serial)
            username = serial if password else None
            return BrokerAddress("127.0.0.1", ports[i % len(ports)], username, password, protocol=protocol)

        self.tick_s = tick_s
        self.devices = [
            FleetDevice(
                serial,
                DeviceClient(
                    serial,
                    address(i, serial),
                    Outbox(outboxes / f"{serial}.db", device=serial),
                    kind="wearable",
                    root=topic_root,
                    backoff=Backoff(initial_s=0.2, maximum_s=2.0),
                    seed=seed + i,
                ),
                random.Random(seed * 1000 + i),
            )
            for i, serial in enumerate(serials)
        ]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0

    def start(self, *, max_ticks: int, max_s: float) -> None:
        for device in self.devices:
            device.client.start()
        self._thread = threading.Thread(
            target=self._drive, args=(max_ticks, max_s), name="fleet", daemon=True
        )
        self._thread.start()

    def _drive(self, max_ticks: int, max_s: float) -> None:
        deadline = time.monotonic() + max_s
        next_at = time.monotonic()
        while self.ticks < max_ticks and time.monotonic() < deadline and not self._stop.is_set():
            for device in self.devices:
                device.tick()
            self.ticks += 1
            next_at += self.tick_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def episode(self, index: int) -> FleetDevice:
        device = self.devices[index]
        device.episode_left = EPISODE_MESSAGES
        return device

    def stop_recording(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def drain(self, timeout_s: float) -> int:
        """Wait for every outbox to empty; return how many messages are still waiting."""
        deadline = time.monotonic() + timeout_s
        for device in self.devices:
            device.client.go_online()
            device.client.flush(max(0.1, deadline - time.monotonic()))
        return sum(device.client.pending for device in self.devices)

    def close(self) -> None:
        for device in self.devices:
            device.client.stop(timeout_s=5, goodbye=False)
            device.client.close()

    @property
    def published(self) -> int:
        return sum(len(device.published) for device in self.devices)
