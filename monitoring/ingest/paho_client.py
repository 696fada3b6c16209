"""A paho-mqtt client that reads in large chunks and acknowledges a batch in one write.

Stock paho reads a packet with at least three ``recv`` calls (type byte,
length bytes, body) and goes back to ``select`` after every packet when the
messages are QoS 1 with manual acknowledgement; each ``ack`` is queued on its
own, wakes the network thread through its socket pair and is written with its
own ``send``. At thousands of messages a second those system calls and
wake-ups are most of the network thread's time and hold the GIL from the
pipeline.

Here the socket is read 64 KiB at a time into a buffer that paho's own packet
parser consumes, every complete packet in the buffer is handled before going
back to ``select``, and a batch's PUBACKs are queued as one write. The MQTT
on the wire is unchanged: the same packets, in the same order.

QoS 0 and 1 PUBLISH packets go straight to ``on_payload`` (topic, payload,
message id, QoS, retain flag): paho's general path builds an ``MQTTMessage``, parses MQTT 5
properties into objects and matches the topic against per-filter callbacks for
every message, which we use none of. QoS 2 and clients without ``on_payload``
keep paho's path.

This overrides three of paho's private methods (``_sock_recv``, ``loop_read``,
``_handle_publish``) and queues through a fourth (``_packet_queue``); the lock
file pins paho, and the ingestion tests run it against Mosquitto with MQTT 5
(with and without properties) and 3.1.1.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

READ_CHUNK = 64 * 1024
_PUBACK = struct.Struct("!BBH")
_U16 = struct.Struct("!H")

# (topic, payload, message id, QoS, retain flag), called on paho's network thread.
PayloadCallback = Callable[[str, bytes, int, int, bool], None]


def _skip_properties(packet: bytearray, pos: int) -> int:
    """Where an MQTT 5 property block starting at ``pos`` ends (its length is a variable byte integer)."""
    length, shift = 0, 0
    for _ in range(4):
        byte = packet[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return pos + length
        shift += 7
    raise ValueError("malformed property length")


class BatchingClient(paho.Client):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_buffer = b""
        self._read_pos = 0
        self.on_payload: PayloadCallback | None = None

    # -- reading ------------------------------------------------------------

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._read_pos >= len(self._read_buffer):
            data = super()._sock_recv(READ_CHUNK)  # BlockingIOError when there is nothing
            if not data:
                return data  # the broker closed the connection
            self._read_buffer, self._read_pos = data, 0
        start = self._read_pos
        self._read_pos = min(start + bufsize, len(self._read_buffer))
        return self._read_buffer[start : self._read_pos]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle every packet already read before the network loop waits again."""
        rc = super().loop_read(max_packets)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._sock is not None and self._buffered():
            rc = super().loop_read(max_packets)
        return rc

    def _buffered(self) -> bool:
        return self._read_pos < len(self._read_buffer)

    def reconnect(self) -> MQTTErrorCode:
        self._read_buffer, self._read_pos = b"", 0  # bytes of the old connection mean nothing now
        return super().reconnect()

    def _handle_publish(self) -> MQTTErrorCode:
        command: int = self._in_packet["command"]
        qos = (command & 0x06) >> 1
        callback = self.on_payload
        if callback is None or qos == 2 or (qos == 1 and not self._manual_ack):
            return super()._handle_publish()
        packet: bytearray = self._in_packet["packet"]
        try:
            (length,) = _U16.unpack_from(packet, 0)
            pos = 2 + length
            topic = packet[2:pos].decode("utf-8", "replace")  # a bad topic fails attribution later
            mid = 0
            if qos:
                (mid,) = _U16.unpack_from(packet, pos)
                pos += 2
            if self._protocol == paho.MQTTv5:
                pos = _skip_properties(packet, pos)
            if pos > len(packet):
                raise ValueError("PUBLISH shorter than its headers")
        except (struct.error, IndexError, ValueError):
            return MQTTErrorCode.MQTT_ERR_PROTOCOL  # paho drops the connection, as for any bad packet
        with self._in_callback_mutex:
            callback(topic, bytes(memoryview(packet)[pos:]), mid, qos, bool(command & 0x01))
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    # -- acknowledging ------------------------------------------------------

    def ack_many(self, mids: Iterable[int]) -> None:
        """PUBACK every QoS 1 message id in ``mids``, in one queued write (manual-ack mode only)."""
        packet = b"".join([_PUBACK.pack(paho.PUBACK, 2, mid) for mid in mids])
        if packet:
            self._packet_queue(paho.PUBACK, packet, 0, 0)
