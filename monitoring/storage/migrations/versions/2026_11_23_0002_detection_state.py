"""Detection: separate persistence for a threshold's high side; detector checkpoints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("care_plan_thresholds", sa.Column("high_persist_readings", sa.Integer()))
    op.add_column("care_plan_thresholds", sa.Column("high_persist_seconds", sa.Integer()))
    op.create_table(
        "detector_checkpoints",
        sa.Column(
            "patient_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("patients.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("state", postgresql.JSONB(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("detector_checkpoints")
    op.drop_column("care_plan_thresholds", "high_persist_seconds")
    op.drop_column("care_plan_thresholds", "high_persist_readings")
