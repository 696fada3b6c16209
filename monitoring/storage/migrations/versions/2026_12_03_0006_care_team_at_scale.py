"""Care team at scale: the patient panel's facts, time zones, glucose units and on-call.

- ``patient_glance`` keeps, per patient, the facts that take a scan of weeks of readings (time in
  ranges, days with readings, the sparkline of the key series), refreshed by a scheduled job, so
  the panel can search, filter, sort and page thousands of patients without that scan.
- ``patients.time_zone``: an IANA zone set at enrolment; reports, charts and explanations use it.
- ``users.glucose_unit``: mg/dL or mmol/L, each user's choice.
- ``care_teams.on_call_user_id``: who holds the team's on-call; escalation goes to them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("patients", sa.Column("time_zone", sa.String(64), server_default="UTC", nullable=False))
    op.add_column("users", sa.Column("glucose_unit", sa.String(8), server_default="mg/dL", nullable=False))
    op.add_column("care_teams", sa.Column("on_call_user_id", postgresql.UUID(as_uuid=True), nullable=True))
    op.add_column("care_teams", sa.Column("on_call_since", _TS, nullable=True))
    op.create_foreign_key("fk_care_teams_on_call_user", "care_teams", "users", ["on_call_user_id"], ["id"])
    op.create_table(
        "patient_glance",
        sa.Column(
            "patient_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("patients.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("computed_at", _TS, nullable=False),
        sa.Column("time_in_range", sa.Double()),
        sa.Column("time_below_70", sa.Double()),
        sa.Column("time_below_54", sa.Double()),
        sa.Column("time_above_250", sa.Double()),
        sa.Column("previous_time_in_range", sa.Double()),
        sa.Column("adherence_days", sa.Integer(), nullable=False),
        sa.Column("spark_series", sa.SmallInteger()),
        sa.Column("spark", postgresql.ARRAY(sa.Double())),
    )


def downgrade() -> None:
    op.drop_table("patient_glance")
    op.drop_constraint("fk_care_teams_on_call_user", "care_teams", type_="foreignkey")
    op.drop_column("care_teams", "on_call_since")
    op.drop_column("care_teams", "on_call_user_id")
    op.drop_column("users", "glucose_unit")
    op.drop_column("patients", "time_zone")
