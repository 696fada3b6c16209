"""Tables of interoperability: FHIR Bulk Data exports, and Nightscout uploaders with what they send."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from monitoring.storage.models import Base, Timestamp, _uuid_pk


class BulkExport(Base):
    """A FHIR Bulk Data export a site's admin asked for: accepted, then run by the scheduler into
    NDJSON files (``output``: type, file name and count of each)."""

    __tablename__ = "bulk_exports"
    __table_args__ = (
        Index("ix_bulk_exports_status", "status", "created_at"),
        Index("ix_bulk_exports_finished", "status", "finished_at"),
        CheckConstraint(
            "status IN ('accepted', 'running', 'completed', 'failed', 'cancelled', 'expired')", name="status"
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    requested_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    care_team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_teams.id", ondelete="CASCADE"))
    types: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    since: Mapped[datetime | None] = mapped_column(Timestamp)
    deidentify: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    request_url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), server_default="accepted")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    transaction_time: Mapped[datetime | None] = mapped_column(Timestamp)
    progress: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    output: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)


class NightscoutUploader(Base):
    """A Nightscout-speaking uploader (xDrip+, AndroidAPS, ...) allowed to send as one CGM device.

    Only digests are kept: of the SHA-1 hex of the API secret (what clients send) and of the
    access token; both are shown once, when an admin registers the uploader.
    """

    __tablename__ = "nightscout_uploaders"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    secret_digest: Mapped[bytes] = mapped_column(LargeBinary)
    token_digest: Mapped[bytes] = mapped_column(LargeBinary)
    registered_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    registered_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class NightscoutDocument(Base):
    """A treatment, device status or other Nightscout record an uploader sent: kept as sent, not
    yet interpreted. ``key`` is the client's ``_id`` or a digest of the content, so a re-upload
    stores nothing."""

    __tablename__ = "nightscout_documents"
    __table_args__ = (
        UniqueConstraint("patient_id", "collection", "key"),
        Index("ix_nightscout_documents_patient_collection_at", "patient_id", "collection", "occurred_at"),
        CheckConstraint("collection IN ('treatments', 'devicestatus', 'entries')", name="collection"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    collection: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(Timestamp)
    received_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
