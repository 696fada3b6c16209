"""Ingestion workers that share patients at run time: their heartbeats and the partitions they lease.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_workers",
        sa.Column("worker", sa.String(120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("worker", name="pk_ingest_workers"),
    )
    op.create_table(
        "ingest_leases",
        sa.Column("partition", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(120), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("epoch", sa.Integer, server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("partition", name="pk_ingest_leases"),
        sa.CheckConstraint("partition >= 0", name=op.f("ck_ingest_leases_partition")),
    )


def downgrade() -> None:
    op.drop_table("ingest_leases")
    op.drop_table("ingest_workers")
