"""Finished Bulk Data exports expire: their files are deleted after a set time, and the row says so.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = "status IN ('accepted', 'running', 'completed', 'failed', 'cancelled')"
_AFTER = "status IN ('accepted', 'running', 'completed', 'failed', 'cancelled', 'expired')"


# 0008 named its check through the naming convention a second time; the new one has the model's name.
_OLD_NAME = "ck_bulk_exports_ck_bulk_exports_status"


def upgrade() -> None:
    op.drop_constraint(op.f(_OLD_NAME), "bulk_exports", type_="check")
    op.create_check_constraint(op.f("ck_bulk_exports_status"), "bulk_exports", _AFTER)
    op.create_index("ix_bulk_exports_finished", "bulk_exports", ["status", "finished_at"])


def downgrade() -> None:
    op.drop_index("ix_bulk_exports_finished", "bulk_exports")
    op.execute("DELETE FROM bulk_exports WHERE status = 'expired'")
    op.drop_constraint(op.f("ck_bulk_exports_status"), "bulk_exports", type_="check")
    op.create_check_constraint(op.f(_OLD_NAME), "bulk_exports", _BEFORE)
