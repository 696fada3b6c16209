"""Which ingestion worker owns which patient, when several share the load.

Detectors keep per-patient state (persistence windows, baselines, episodes),
so all of one patient's readings, from every device, must go through one
worker. Mosquitto's shared subscriptions hand messages out round robin, which
would split a patient between workers; so each of ``count`` workers keeps its
own subscription to every device, and stores and evaluates only the messages
of the patients it owns (``patient_id.int % count == index``). The others it
acknowledges unread: the owner has its own copy in its own session.

What costs each worker is the broker's delivery and paho's parsing of the
other workers' messages, a small part of a message's cost; decoding, storage
and detection split ``count`` ways. A broker that routes a shared
subscription by topic (EMQX's ``hash_topic`` strategy) removes even that:
see docs/scale-out.md.

Handing a patient to another worker (changing ``count``) is a restart of all
workers: each saves its detector state at shutdown and the new owner restores
it from PostgreSQL. With NATS JetStream (``monitoring.ingest.nats_*``) the same
partition functions route each patient's messages to one partition, and workers
lease partitions at run time instead (``monitoring.ingest.leases``).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from monitoring.ingest.records import Inbound
from monitoring.registry.records import DeviceRef


def partition_of(patient_id: UUID, count: int) -> int:
    """The partition of a patient among ``count``: every device of the patient lands in it."""
    return patient_id.int % count


def partition_of_key(key: str, count: int) -> int:
    """For what belongs to no patient (an unknown device, a malformed topic): a stable hash."""
    return zlib.crc32(key.encode()) % count


@dataclass(frozen=True, slots=True)
class WorkerShare:
    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"partition {self.index} of {self.count} does not exist")

    @property
    def everything(self) -> bool:
        return self.count == 1

    def owns(self, patient_id: UUID) -> bool:
        return self.count == 1 or partition_of(patient_id, self.count) == self.index

    def owns_key(self, key: str) -> bool:
        """For what belongs to no patient (an unknown device, a malformed topic): by a stable hash."""
        return self.count == 1 or partition_of_key(key, self.count) == self.index

    def select(
        self, batch: Sequence[Inbound], serials: Sequence[str | None], devices: Mapping[str, DeviceRef]
    ) -> list[Inbound]:
        """The messages of ``batch`` this worker handles; ``serials`` are their topics' device serials."""
        mine: list[Inbound] = []
        for inbound, serial in zip(batch, serials, strict=True):
            device = devices.get(serial) if serial is not None else None
            if device is not None and device.patient_id is not None:
                owned = self.owns(device.patient_id)
            else:
                owned = self.owns_key(serial if serial is not None else inbound.topic)
            if owned:
                mine.append(inbound)
        return mine
