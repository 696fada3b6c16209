"""Device messages travel from the route stage to a partition in bundles: one JetStream message for many.

Every JetStream message costs the Python client tens of microseconds to
publish and again to fetch, far more than storing a reading; so the route
stage files each batch as one bundle per partition. A bundle is MessagePack:
a list of (topic, received time in ns, payload), in the order the devices'
messages arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

Entry = tuple[str, int, bytes]

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[tuple[str, int, bytes]])


def pack(entries: Sequence[Entry]) -> bytes:
    return _encoder.encode(entries)


def unpack(data: bytes) -> list[tuple[str, datetime, bytes]]:
    return [
        (topic, datetime.fromtimestamp(received_ns / 1e9, UTC), payload)
        for topic, received_ns, payload in _decoder.decode(data)
    ]
