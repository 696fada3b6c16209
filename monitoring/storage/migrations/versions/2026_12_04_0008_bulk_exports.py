"""FHIR Bulk Data exports: one row per requested export, claimed and run by the scheduler.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_UUID = postgresql.UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "bulk_exports",
        sa.Column("id", _UUID, nullable=False),
        sa.Column("site_id", _UUID, nullable=False),
        sa.Column("requested_by", _UUID, nullable=False),
        sa.Column("care_team_id", _UUID),
        sa.Column("types", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("since", _TS),
        sa.Column("deidentify", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("request_url", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(16), server_default="accepted", nullable=False),
        sa.Column("created_at", _TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", _TS),
        sa.Column("finished_at", _TS),
        sa.Column("transaction_time", _TS),
        sa.Column("progress", sa.String(200)),
        sa.Column("error", sa.Text()),
        sa.Column("output", postgresql.JSONB()),
        sa.PrimaryKeyConstraint("id", name="pk_bulk_exports"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_bulk_exports_site_id_sites"),
        sa.ForeignKeyConstraint(
            ["care_team_id"],
            ["care_teams.id"],
            name="fk_bulk_exports_care_team_id_care_teams",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('accepted', 'running', 'completed', 'failed', 'cancelled')",
            name="ck_bulk_exports_status",
        ),
    )
    op.create_index("ix_bulk_exports_status", "bulk_exports", ["status", "created_at"])


def downgrade() -> None:
    op.drop_table("bulk_exports")
