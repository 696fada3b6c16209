"""Webhooks: per-site subscribers and a delivery outbox filled by the database itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = postgresql.UUID(as_uuid=True)
_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", _UUID, nullable=False),
        sa.Column("site_id", _UUID, nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_webhooks_site_id_sites"),
    )
    op.create_index("ix_webhooks_site_id", "webhooks", ["site_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("webhook_id", _UUID, nullable=False),
        sa.Column("alert_event_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name="fk_webhook_deliveries_webhook_id_webhooks",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alert_event_id"],
            ["alert_events.id"],
            name="fk_webhook_deliveries_alert_event_id_alert_events",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name="ck_webhook_deliveries_status"
        ),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    # Every recorded alert change is queued for each active webhook of the patient's site, in the
    # same transaction as the change: nothing is announced that did not happen, nothing is lost.
    op.execute(
        "CREATE FUNCTION webhook_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO webhook_deliveries (webhook_id, alert_event_id) "
        "SELECT w.id, NEW.id FROM alerts a JOIN patients p ON p.id = a.patient_id "
        "JOIN webhooks w ON w.site_id = p.site_id AND w.active WHERE a.id = NEW.alert_id; "
        "RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER webhook_enqueue AFTER INSERT ON alert_events "
        "FOR EACH ROW EXECUTE FUNCTION webhook_enqueue()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER webhook_enqueue ON alert_events")
    op.execute("DROP FUNCTION webhook_enqueue()")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
