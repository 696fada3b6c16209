"""A private Mosquitto started from the repository's configuration, and small MQTT v5 probes.

The shared test broker allows anonymous clients; these tests need one that
enforces the password file and ACL that ``monitoring broker-auth`` writes.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from monitoring.embedded.broker import free_port

REPOSITORY_CONFIG = Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "mosquitto.conf"


REPOSITORY_CERTS = REPOSITORY_CONFIG.parents[1] / "tls" / "make-certs.sh"


def local_config(*, port: int, tls_port: int, data: Path, passwd: Path, acl: Path, certs: Path) -> str:
    """The repository's mosquitto.conf with only the ports, the file locations and the user changed."""
    text = REPOSITORY_CONFIG.read_text(encoding="utf-8")
    swaps = {
        "listener 1883": f"listener {port} 127.0.0.1",
        "listener 8883": f"listener {tls_port} 127.0.0.1",
        "/mosquitto/certs/": f"{certs}/",
        "persistence_location /mosquitto/data/": f"persistence_location {data}/",
        "password_file /mosquitto/auth/passwd": f"password_file {passwd}",
        "acl_file /mosquitto/auth/acl": f"acl_file {acl}",
        "log_dest stdout": "log_dest stderr",
    }
    for old, new in swaps.items():
        assert old in text, f"{REPOSITORY_CONFIG} no longer has {old!r}"
        text = text.replace(old, new)
    # Started as root, mosquitto would become the `mosquitto` user and not read our private files.
    return f"user {getpass.getuser()}\n{text}"


def mosquitto_path() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
    )
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("mosquitto is not installed (CI is set: the broker tests are required)", pytrace=False)
    pytest.skip("mosquitto is not installed")


@dataclass
class SecuredBroker:
    port: int
    tls_port: int
    ca_file: Path
    process: subprocess.Popen[bytes]

    def reload(self) -> None:
        """What an operator does after `monitoring broker-auth`: SIGHUP rereads the files."""
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)


@contextmanager
def secured_broker(folder: Path, passwd: Path, acl: Path) -> Iterator[SecuredBroker]:
    port, tls_port = free_port(), free_port()
    config = folder / "mosquitto.conf"
    data = folder / "mosquitto-data"
    data.mkdir(exist_ok=True)
    certs = folder / "certs"
    subprocess.run(["sh", str(REPOSITORY_CERTS), str(certs)], check=True, capture_output=True)
    config.write_text(
        local_config(port=port, tls_port=tls_port, data=data, passwd=passwd, acl=acl, certs=certs),
        encoding="utf-8",
    )
    process = subprocess.Popen([mosquitto_path(), "-c", str(config)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            probe = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
            try:
                probe.connect("127.0.0.1", port)
                probe.disconnect()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the secured mosquitto did not start") from None
                time.sleep(0.1)
        yield SecuredBroker(port, tls_port, certs / "ca.crt", process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Probe:
    """One MQTT v5 client and what the broker told it."""

    client: mqtt.Client
    connected: threading.Event = field(default_factory=threading.Event)
    connack: ReasonCode | None = None
    acks: dict[int, ReasonCode] = field(default_factory=dict)
    granted: dict[int, list[ReasonCode]] = field(default_factory=dict)
    received: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        info = self.client.publish(topic, payload, qos=1)
        return _wait_for(lambda: self.acks.get(info.mid))

    def subscribe(self, topic: str) -> ReasonCode:
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        return _wait_for(lambda: next(iter(self.granted.get(mid, [])), None))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _wait_for(get: object, timeout_s: float = 5.0) -> ReasonCode:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = get()  # type: ignore[operator]
        if value is not None:
            return value  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError("the broker did not answer")


def connect(
    port: int,
    username: str | None,
    password: str | None,
    *,
    ca_file: Path | None = None,
    protocol: MQTTProtocolVersion = mqtt.MQTTv5,
) -> Probe:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"probe-{str(username).replace('.', '~')}-{time.monotonic_ns()}",
        protocol=protocol,
    )
    probe = Probe(client)
    if username is not None:
        client.username_pw_set(username, password)
    if ca_file is not None:
        client.tls_set(ca_certs=str(ca_file))

    def on_connect(
        c: mqtt.Client, u: object, flags: object, reason: ReasonCode, p: Properties | None
    ) -> None:
        probe.connack = reason
        probe.connected.set()

    def on_publish(c: mqtt.Client, u: object, mid: int, reason: ReasonCode, p: Properties) -> None:
        probe.acks[mid] = reason

    def on_subscribe(c: mqtt.Client, u: object, mid: int, reasons: list[ReasonCode], p: Properties) -> None:
        probe.granted[mid] = reasons

    def on_message(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
        probe.received.append((message.topic, bytes(message.payload)))

    client.on_connect, client.on_publish = on_connect, on_publish
    client.on_subscribe, client.on_message = on_subscribe, on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    probe.connected.wait(5)
    return probe
