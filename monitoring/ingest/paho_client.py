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

This overrides two of paho's private methods (``_sock_recv``, ``loop_read``)
and queues through a third (``_packet_queue``); the lock file pins paho, and
the ingestion tests run it against Mosquitto.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

READ_CHUNK = 64 * 1024
_PUBACK = struct.Struct("!BBH")


class BatchingClient(paho.Client):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_buffer = b""
        self._read_pos = 0

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

    # -- acknowledging ------------------------------------------------------

    def ack_many(self, mids: Iterable[int]) -> None:
        """PUBACK every QoS 1 message id in ``mids``, in one queued write (manual-ack mode only)."""
        packet = b"".join([_PUBACK.pack(paho.PUBACK, 2, mid) for mid in mids])
        if packet:
            self._packet_queue(paho.PUBACK, packet, 0, 0)
