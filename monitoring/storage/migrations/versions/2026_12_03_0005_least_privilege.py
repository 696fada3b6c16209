"""Least privilege and a fuller audit: partition upkeep as its owner, audit entries for refusals and lists.

- ``ensure_reading_partitions`` runs with its owner's rights (SECURITY DEFINER, fixed search path),
  so the runtime role keeps readings partitioned without any DDL privilege of its own.
- The audit log records events that have no signed-in user (failed sign-ins, lock-outs, refused
  tokens): ``user_id``, ``username`` and ``role`` may be empty; ``patient_ids`` lists the patients a
  list or search answer returned, ``detail`` says what else matters (reason, query, count).
- Devices count the refused messages that were not kept as dead letters (over the hourly bound).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTITIONS = "ensure_reading_partitions(timestamptz, timestamptz)"


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {_PARTITIONS} SECURITY DEFINER SET search_path = public, pg_temp")
    op.execute(f"REVOKE EXECUTE ON FUNCTION {_PARTITIONS} FROM PUBLIC")
    op.alter_column("audit_log", "username", existing_type=sa.String(64), nullable=True)
    op.alter_column("audit_log", "role", existing_type=sa.String(16), nullable=True)
    op.alter_column("audit_log", "action", existing_type=sa.String(16), type_=sa.String(32))
    op.add_column("audit_log", sa.Column("patient_ids", postgresql.ARRAY(postgresql.UUID(as_uuid=True))))
    op.add_column("audit_log", sa.Column("detail", postgresql.JSONB()))
    op.create_index("ix_audit_log_patient_ids", "audit_log", ["patient_ids"], postgresql_using="gin")
    op.add_column(
        "devices",
        sa.Column("refused_unstored", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("devices", "refused_unstored")
    op.drop_index("ix_audit_log_patient_ids", table_name="audit_log")
    op.drop_column("audit_log", "detail")
    op.drop_column("audit_log", "patient_ids")
    op.alter_column("audit_log", "action", existing_type=sa.String(32), type_=sa.String(16))
    op.alter_column("audit_log", "role", existing_type=sa.String(16), nullable=False)
    op.alter_column("audit_log", "username", existing_type=sa.String(64), nullable=False)
    op.execute(f"GRANT EXECUTE ON FUNCTION {_PARTITIONS} TO PUBLIC")
    op.execute(f"ALTER FUNCTION {_PARTITIONS} SECURITY INVOKER RESET search_path")
