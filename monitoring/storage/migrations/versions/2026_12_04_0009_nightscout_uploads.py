"""Nightscout-compatible uploads: the uploaders admins register for CGM devices, and the
treatments and device statuses they send (kept as sent).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_UUID = postgresql.UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "nightscout_uploaders",
        sa.Column("device_id", _UUID, nullable=False),
        sa.Column("secret_digest", sa.LargeBinary(), nullable=False),
        sa.Column("token_digest", sa.LargeBinary(), nullable=False),
        sa.Column("registered_by", _UUID, nullable=False),
        sa.Column("registered_at", _TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name="pk_nightscout_uploaders"),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name="fk_nightscout_uploaders_device_id_devices",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "nightscout_documents",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("patient_id", _UUID, nullable=False),
        sa.Column("device_id", _UUID, nullable=False),
        sa.Column("collection", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("received_at", _TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_nightscout_documents"),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_nightscout_documents_patient_id_patients",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name="fk_nightscout_documents_device_id_devices",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "patient_id", "collection", "key", name="uq_nightscout_documents_patient_id_collection_key"
        ),
        sa.CheckConstraint(
            "collection IN ('treatments', 'devicestatus', 'entries')",
            name=op.f("ck_nightscout_documents_collection"),
        ),
    )
    op.create_index(
        "ix_nightscout_documents_patient_collection_at",
        "nightscout_documents",
        ["patient_id", "collection", "occurred_at"],
    )


def downgrade() -> None:
    op.drop_table("nightscout_documents")
    op.drop_table("nightscout_uploaders")
