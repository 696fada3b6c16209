"""Tables of a cluster of ingestion workers: who is alive, and which partitions of patients each holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from monitoring.storage.models import Base, Timestamp


class IngestWorkerBeat(Base):
    """A worker's last sign of life; the live ones split the partitions between them."""

    __tablename__ = "ingest_workers"

    worker: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    seen_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class PartitionLease(Base):
    """One partition of patients: held by one worker until ``expires_at`` unless renewed.

    ``epoch`` counts the hand-overs, so a log line or a test can tell two holders apart.
    """

    __tablename__ = "ingest_leases"
    __table_args__ = (CheckConstraint("partition >= 0", name="partition"),)

    partition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    owner: Mapped[str | None] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    epoch: Mapped[int] = mapped_column(Integer, server_default="0")
