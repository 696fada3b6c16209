"""Initial schema: sites, patients, care plans, devices, readings, dead letters, alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
UUID = postgresql.UUID(as_uuid=True)

# Creates the monthly partitions of readings that cover [p_from, p_to). Rows that
# had landed in the default partition for such a month are moved into it.
ENSURE_PARTITIONS = """
CREATE OR REPLACE FUNCTION ensure_reading_partitions(p_from timestamptz, p_to timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz := date_trunc('month', p_from AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    month_end timestamptz;
    part text;
    created integer := 0;
BEGIN
    WHILE month_start < p_to LOOP
        month_end := month_start + interval '1 month';
        part := format('readings_%s', to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE readings INCLUDING DEFAULTS)', part);
            EXECUTE format(
                'WITH moved AS (DELETE FROM readings_default WHERE measured_at >= %L AND measured_at < %L RETURNING *) '
                'INSERT INTO %I SELECT * FROM moved', month_start, month_end, part);
            EXECUTE format('ALTER TABLE readings ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           part, month_start, month_end);
            created := created + 1;
        END IF;
        month_start := month_end;
    END LOOP;
    RETURN created;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", UUID, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sites"),
        sa.UniqueConstraint("code", name="uq_sites_code"),
    )
    op.create_table(
        "patients",
        sa.Column("id", UUID, nullable=False),
        sa.Column("site_id", UUID, nullable=False),
        sa.Column("mrn", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date()),
        sa.Column("conditions", postgresql.ARRAY(sa.String(32)), server_default="{}", nullable=False),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("enrolled_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_patients_site_id_sites"),
        sa.UniqueConstraint("site_id", "mrn", name="uq_patients_site_id_mrn"),
    )
    op.create_index("ix_patients_site_id", "patients", ["site_id"])
    op.create_table(
        "care_plan_thresholds",
        sa.Column("patient_id", UUID, nullable=False),
        sa.Column("series", sa.SmallInteger(), nullable=False),
        sa.Column("low", sa.Double()),
        sa.Column("high", sa.Double()),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("persist_readings", sa.Integer(), nullable=False),
        sa.Column("persist_seconds", sa.Integer()),
        sa.Column("hysteresis", sa.Double(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", "series", name="pk_care_plan_thresholds"),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_care_plan_thresholds_patient_id_patients",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "devices",
        sa.Column("id", UUID, nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("patient_id", UUID),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("online", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("battery", sa.Double()),
        sa.Column("firmware", sa.String(64)),
        sa.Column("status_at", TS),
        sa.Column("last_seen_at", TS),
        sa.Column("last_seq", sa.BigInteger()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_devices_patient_id_patients"),
        sa.UniqueConstraint("serial", name="uq_devices_serial"),
    )
    op.create_index("ix_devices_patient_id", "devices", ["patient_id"])

    op.create_table(
        "readings",
        sa.Column("device_id", UUID, nullable=False),
        sa.Column("series", sa.SmallInteger(), nullable=False),
        sa.Column("measured_at", TS, nullable=False),
        sa.Column("patient_id", UUID, nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("original_value", sa.Double()),
        sa.Column("original_unit", sa.String(16)),
        sa.Column("sqi", sa.Double()),
        sa.PrimaryKeyConstraint("device_id", "series", "measured_at", name="pk_readings"),
        postgresql_partition_by="RANGE (measured_at)",
    )
    op.create_index("ix_readings_patient_series_time", "readings", ["patient_id", "series", "measured_at"])
    op.execute("CREATE TABLE readings_default PARTITION OF readings DEFAULT")
    op.execute(ENSURE_PARTITIONS)
    op.execute("SELECT ensure_reading_partitions(now() - interval '3 months', now() + interval '3 months')")

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("topic", sa.String(512), nullable=False),
        sa.Column("device_serial", sa.String(64)),
        sa.Column("seq", sa.BigInteger()),
        sa.Column("reading_index", sa.Integer()),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_truncated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"])
    op.create_index("ix_dead_letters_device_serial", "dead_letters", ["device_serial"])
    op.create_index("ix_dead_letters_code", "dead_letters", ["code"])

    op.create_table(
        "alerts",
        sa.Column("id", UUID, nullable=False),
        sa.Column("patient_id", UUID, nullable=False),
        sa.Column("alert_type", sa.String(96), nullable=False),
        sa.Column("detector", sa.String(64), nullable=False),
        sa.Column("series", sa.SmallInteger()),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("explanation", postgresql.JSONB(), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("episode_started_at", TS, nullable=False),
        sa.Column("last_episode_started_at", TS, nullable=False),
        sa.Column("last_triggered_at", TS, nullable=False),
        sa.Column("occurrences", sa.Integer(), server_default="1", nullable=False),
        sa.Column("cleared_at", TS),
        sa.Column("acknowledged_at", TS),
        sa.Column("resolved_at", TS),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_alerts_patient_id_patients"),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'resolved', 'dismissed')", name="ck_alerts_status"
        ),
        sa.CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="ck_alerts_severity"),
    )
    op.create_index(
        "uq_alerts_active_patient_type",
        "alerts",
        ["patient_id", "alert_type"],
        unique=True,
        postgresql_where=sa.text("status IN ('open', 'acknowledged')"),
    )
    op.create_index("ix_alerts_status_opened", "alerts", ["status", "opened_at"])
    op.create_index("ix_alerts_patient_opened", "alerts", ["patient_id", "opened_at"])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("alert_id", UUID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128)),
        sa.Column("detail", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_events_alert_id_alerts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])


def downgrade() -> None:
    op.drop_table("alert_events")
    op.drop_table("alerts")
    op.drop_table("dead_letters")
    op.drop_table("readings")
    op.execute("DROP FUNCTION IF EXISTS ensure_reading_partitions(timestamptz, timestamptz)")
    op.drop_table("devices")
    op.drop_table("care_plan_thresholds")
    op.drop_table("patients")
    op.drop_table("sites")
