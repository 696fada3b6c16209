"""A minimal MQTT 3.1.1 QoS 1 publisher on a plain socket, for load generation only.

The load generator must cost little next to what it loads: paho spends tens
of microseconds of Python per QoS 1 publish. This writes ready-made PUBLISH
packets in one ``sendall`` per burst and counts the broker's PUBACKs, keeping
at most ``window`` messages unacknowledged. It speaks just enough MQTT for
that (CONNECT, PUBLISH at QoS 1, PUBACK, DISCONNECT) and is not a client for
anything else.
"""

from __future__ import annotations

import socket
import struct
import time

CONNACK, PUBLISH_QOS1, PUBACK, DISCONNECT = 0x20, 0x32, 0x40, 0xE0


def _length(n: int) -> bytes:
    """MQTT's variable-length "remaining length"."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


class WirePublisher:
    def __init__(self, host: str, port: int, client_id: str, *, window: int = 20_000) -> None:
        if not 0 < window < 65_535:
            raise ValueError("window must be 1..65534 (packet ids are 16-bit)")
        self.window = window
        self.sent = 0
        self.acknowledged = 0
        self._next_id = 0
        self._pending = b""
        self._sock = socket.create_connection((host, port), timeout=10)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _string(client_id)
        self._sock.sendall(bytes([0x10]) + _length(len(body)) + body)
        reply = self._sock.recv(4)
        if len(reply) != 4 or reply[0] != CONNACK or reply[3] != 0:
            raise ConnectionError(f"broker refused the connection: {reply!r}")
        self._sock.setblocking(False)

    @property
    def in_flight(self) -> int:
        return self.sent - self.acknowledged

    def publish_many(self, messages: list[tuple[bytes, bytes]]) -> None:
        """Send (topic, payload) pairs at QoS 1 in one write, waiting for room in the window first."""
        packets = []
        for topic, payload in messages:
            while self.in_flight >= self.window:
                self.read_acks(wait_s=0.05)
            self._next_id = self._next_id % 65_535 + 1
            body_length = 2 + len(topic) + 2 + len(payload)
            packets.append(
                b"%c%s%s%s%s%s"
                % (
                    PUBLISH_QOS1,
                    _length(body_length),
                    struct.pack("!H", len(topic)),
                    topic,
                    struct.pack("!H", self._next_id),
                    payload,
                )
            )
            self.sent += 1
        self._sock.setblocking(True)
        try:
            self._sock.sendall(b"".join(packets))
        finally:
            self._sock.setblocking(False)
        self.read_acks()

    def read_acks(self, wait_s: float = 0.0) -> None:
        """Count the PUBACKs that have arrived (each is 4 bytes: 0x40 0x02 id)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                data = self._sock.recv(65_536)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.001)
                continue
            if not data:
                raise ConnectionError("the broker closed the connection")
            data = self._pending + data
            whole = len(data) - len(data) % 4
            if any(data[i] != PUBACK for i in range(0, whole, 4)):
                raise ConnectionError("unexpected packet from the broker")
            self.acknowledged += whole // 4
            self._pending = data[whole:]

    def drain(self, timeout_s: float) -> None:
        """Wait until every message is acknowledged, or ``timeout_s`` has passed."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            self.read_acks(wait_s=0.05)

    def close(self) -> None:
        try:
            self._sock.setblocking(True)
            self._sock.sendall(bytes([DISCONNECT, 0]))
        finally:
            self._sock.close()
