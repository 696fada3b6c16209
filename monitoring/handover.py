"""What a worker does with its patients' detector state when partitions come to it or leave it.

Taking a partition over: restore its patients' checkpoints, replay what was
stored after them (the previous holder may have stored readings it never
evaluated, or died before its last checkpoint; alerts are applied
idempotently, so nothing is raised twice), and only then start reading the
partition. Handing one over: stop reading it, finish what was read, save its
patients' state, forget it. All between batches (``IngestService.between_batches``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Set
from uuid import UUID

from monitoring.detection.checkpoints import Checkpointer
from monitoring.detection.engine import DetectionEngine
from monitoring.ingest.nats_source import JetStreamSource
from monitoring.ingest.ownership import partition_of
from monitoring.observability import metrics
from monitoring.pipeline import Pipeline
from monitoring.worker import IngestService

log = logging.getLogger(__name__)


class PartitionHandover:
    def __init__(
        self,
        *,
        source: JetStreamSource,
        ingest: IngestService,
        checkpointer: Checkpointer,
        partitions: int,
        replay_hours: float,
    ) -> None:
        self.source = source
        self.ingest = ingest
        self.pipeline: Pipeline = ingest.pipeline
        self.engine: DetectionEngine = ingest.pipeline.engine
        self.checkpointer = checkpointer
        self.partitions = partitions
        self.replay_hours = replay_hours

    def _in(self, partitions: Set[int]) -> Callable[[UUID], bool]:
        count = self.partitions
        return lambda patient_id: partition_of(patient_id, count) in partitions

    async def acquire(self, partitions: Set[int]) -> None:
        owns = self._in(partitions)
        async with self.ingest.between_batches():
            restored = await self.checkpointer.restore(owns=owns)
            replayed = await self.pipeline.replay(self.replay_hours, owns=owns)
        await self.source.open(partitions)
        metrics.PARTITIONS_HELD.set(len(self.source.partitions))
        log.info(
            "took over %d partitions: %d patients' state restored, %d readings replayed",
            len(partitions),
            restored,
            replayed,
        )

    async def release(self, partitions: Set[int]) -> None:
        await self.source.close(partitions)
        async with self.ingest.between_batches():
            await self._save_and_forget(partitions)
        metrics.PARTITIONS_HELD.set(len(self.source.partitions))

    async def drop(self, partitions: Set[int]) -> None:
        await self.source.discard(partitions)
        async with self.ingest.between_batches():
            self._forget(partitions)
        metrics.PARTITIONS_HELD.set(len(self.source.partitions))

    async def leave(self, partitions: Set[int]) -> None:
        """Shutting down: stop reading at once (unacknowledged messages go to the next holder), save all."""
        await self.source.discard(partitions)
        await self._save_and_forget(partitions)

    async def _save_and_forget(self, partitions: Set[int]) -> None:
        if self.pipeline.has_unwritten:
            await self.pipeline.detect(())  # write what an earlier failure left over first
        owns = self._in(partitions)
        patients = [p for p in self.engine.patients() if owns(p)]
        await self.checkpointer.save_patients(patients)
        self._forget(partitions)

    def _forget(self, partitions: Set[int]) -> None:
        owns = self._in(partitions)
        for patient_id in [p for p in self.engine.patients() if owns(p)]:
            self.engine.forget(patient_id)
