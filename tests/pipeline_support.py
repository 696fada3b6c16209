"""Building the ingestion pipeline against a test database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from devices.contract import readings_topic
from monitoring.detection.base import Detector
from monitoring.detection.detectors.thresholds import ThresholdDetector
from monitoring.detection.engine import DetectionEngine
from monitoring.ingest.directory import DeviceDirectory
from monitoring.ingest.records import Inbound
from monitoring.pipeline import Pipeline
from monitoring.storage.db import Database


def make_pipeline(
    database: Database,
    topic_root: str = "rpm",
    *,
    resolve_on_clear: bool = False,
    detectors: Sequence[Detector] | None = None,
) -> Pipeline:
    return Pipeline(
        db=database,
        directory=DeviceDirectory(database, ttl_s=0),
        engine=DetectionEngine(detectors if detectors is not None else [ThresholdDetector()]),
        topic_root=topic_root,
        resolve_on_clear=resolve_on_clear,
    )


def inbound(serial: str, payload: bytes, topic_root: str = "rpm") -> Inbound:
    return Inbound(topic=readings_topic(serial, topic_root), payload=payload, received_at=datetime.now(UTC))


class Acks:
    """Records what the pipeline acknowledged."""

    def __init__(self) -> None:
        self.acknowledged: list[Inbound] = []

    def __call__(self, batch: Sequence[Inbound]) -> None:
        self.acknowledged.extend(batch)
