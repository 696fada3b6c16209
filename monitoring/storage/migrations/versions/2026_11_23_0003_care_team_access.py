"""Care-team access: teams, users, team membership, the audit log; alert assignment and snooze.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = postgresql.UUID(as_uuid=True)
_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "care_teams",
        sa.Column("id", _UUID, nullable=False),
        sa.Column("site_id", _UUID, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_care_teams"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_care_teams_site_id_sites"),
        sa.UniqueConstraint("site_id", "name", name="uq_care_teams_site_id_name"),
    )
    op.create_index("ix_care_teams_site_id", "care_teams", ["site_id"])
    op.create_table(
        "users",
        sa.Column("id", _UUID, nullable=False),
        sa.Column("site_id", _UUID, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_users_site_id_sites"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.CheckConstraint("role IN ('admin', 'coordinator', 'clinician')", name="ck_users_role"),
    )
    op.create_index("ix_users_site_id", "users", ["site_id"])
    op.create_table(
        "team_members",
        sa.Column("team_id", _UUID, nullable=False),
        sa.Column("user_id", _UUID, nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name="pk_team_members"),
        sa.ForeignKeyConstraint(
            ["team_id"], ["care_teams.id"], name="fk_team_members_team_id_care_teams", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_team_members_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("user_id", _UUID),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("patient_id", _UUID),
        sa.Column("client", sa.String(64)),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_user_id", "audit_log", ["user_id"])
    op.create_index("ix_audit_log_patient_at", "audit_log", ["patient_id", "at"])
    # Append-only for everyone who connects as the application: no UPDATE, no DELETE.
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.add_column("patients", sa.Column("care_team_id", _UUID))
    op.create_foreign_key(
        "fk_patients_care_team_id_care_teams", "patients", "care_teams", ["care_team_id"], ["id"]
    )
    op.create_index("ix_patients_care_team_id", "patients", ["care_team_id"])
    op.add_column("alerts", sa.Column("assigned_to", _UUID))
    op.create_foreign_key("fk_alerts_assigned_to_users", "alerts", "users", ["assigned_to"], ["id"])
    op.add_column("alerts", sa.Column("snoozed_until", sa.DateTime(timezone=True)))
    op.add_column("alerts", sa.Column("dismissed_reason", sa.Text()))
    op.add_column(
        "alerts", sa.Column("escalation_level", sa.SmallInteger(), server_default="0", nullable=False)
    )
    op.add_column("alerts", sa.Column("escalated_at", sa.DateTime(timezone=True)))
    op.add_column("devices", sa.Column("site_id", _UUID))
    op.create_foreign_key("fk_devices_site_id_sites", "devices", "sites", ["site_id"], ["id"])
    op.add_column("devices", sa.Column("mqtt_password_hash", sa.String(255)))
    # Every recorded alert change is announced to listeners (the API's real-time stream), whichever
    # process made it: ingestion, the scheduler or the API.
    op.execute(
        "CREATE FUNCTION alert_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_notify('alert_events', json_build_object('id', NEW.id, 'alert_id', NEW.alert_id, "
        "'kind', NEW.kind)::text); RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER alert_events_notify AFTER INSERT ON alert_events "
        "FOR EACH ROW EXECUTE FUNCTION alert_events_notify()"
    )


def downgrade() -> None:
    op.drop_column("devices", "mqtt_password_hash")
    op.drop_constraint("fk_devices_site_id_sites", "devices", type_="foreignkey")
    op.drop_column("devices", "site_id")
    op.execute("DROP TRIGGER alert_events_notify ON alert_events")
    op.execute("DROP FUNCTION alert_events_notify()")
    op.drop_column("alerts", "escalated_at")
    op.drop_column("alerts", "escalation_level")
    op.drop_column("alerts", "dismissed_reason")
    op.drop_column("alerts", "snoozed_until")
    op.drop_constraint("fk_alerts_assigned_to_users", "alerts", type_="foreignkey")
    op.drop_column("alerts", "assigned_to")
    op.drop_index("ix_patients_care_team_id", table_name="patients")
    op.drop_constraint("fk_patients_care_team_id_care_teams", "patients", type_="foreignkey")
    op.drop_column("patients", "care_team_id")
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_table("team_members")
    op.drop_table("users")
    op.drop_table("care_teams")
