"""FHIR Subscriptions (R4 topic-based Subscriptions Backport) through the webhook outbox.

A subscription is a webhook of kind ``fhir``: it keeps the channel's payload content, heartbeat
period, extra headers, an optional patient filter, its handshake status, the FHIR base its
notifications point at, and how many events it has been sent. Deliveries gain a kind (event,
handshake, heartbeat) and, for events, their number in the subscription's sequence; the trigger
numbers and queues events for subscriptions in the same transaction as the alert change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)

_ENQUEUE = (
    "CREATE OR REPLACE FUNCTION webhook_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO webhook_deliveries (webhook_id, alert_event_id) "
    "SELECT w.id, NEW.id FROM alerts a JOIN patients p ON p.id = a.patient_id "
    "JOIN webhooks w ON w.site_id = p.site_id AND w.active AND w.kind = 'webhook' WHERE a.id = NEW.alert_id; "
    "WITH numbered AS ("
    "UPDATE webhooks w SET events_since_start = w.events_since_start + 1, last_queued_at = now() "
    "FROM alerts a JOIN patients p ON p.id = a.patient_id "
    "WHERE a.id = NEW.alert_id AND w.site_id = p.site_id AND w.active AND w.kind = 'fhir' "
    "AND (w.patient_id IS NULL OR w.patient_id = a.patient_id) "
    "RETURNING w.id, w.events_since_start) "
    "INSERT INTO webhook_deliveries (webhook_id, alert_event_id, kind, event_number) "
    "SELECT id, NEW.id, 'event', events_since_start FROM numbered; "
    "RETURN NEW; END $$"
)
_ENQUEUE_BEFORE = (
    "CREATE OR REPLACE FUNCTION webhook_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO webhook_deliveries (webhook_id, alert_event_id) "
    "SELECT w.id, NEW.id FROM alerts a JOIN patients p ON p.id = a.patient_id "
    "JOIN webhooks w ON w.site_id = p.site_id AND w.active WHERE a.id = NEW.alert_id; "
    "RETURN NEW; END $$"
)


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("kind", sa.String(16), server_default="webhook", nullable=False))
    op.add_column("webhooks", sa.Column("status", sa.String(16), server_default="active", nullable=False))
    op.add_column("webhooks", sa.Column("payload_content", sa.String(16)))
    op.add_column("webhooks", sa.Column("heartbeat_s", sa.Integer()))
    op.add_column("webhooks", sa.Column("headers", postgresql.ARRAY(sa.String(500))))
    op.add_column("webhooks", sa.Column("patient_id", postgresql.UUID(as_uuid=True)))
    op.add_column("webhooks", sa.Column("reason", sa.String(500)))
    op.add_column("webhooks", sa.Column("fhir_base", sa.String(500)))
    op.add_column(
        "webhooks", sa.Column("events_since_start", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column("webhooks", sa.Column("last_queued_at", _TS))
    op.create_foreign_key(
        "fk_webhooks_patient_id_patients", "webhooks", "patients", ["patient_id"], ["id"], ondelete="CASCADE"
    )
    op.create_check_constraint(op.f("ck_webhooks_kind"), "webhooks", "kind IN ('webhook', 'fhir')")
    op.alter_column("webhook_deliveries", "alert_event_id", nullable=True)
    op.add_column(
        "webhook_deliveries", sa.Column("kind", sa.String(16), server_default="event", nullable=False)
    )
    op.add_column("webhook_deliveries", sa.Column("event_number", sa.BigInteger()))
    op.create_check_constraint(
        op.f("ck_webhook_deliveries_kind"),
        "webhook_deliveries",
        "kind IN ('event', 'handshake', 'heartbeat')",
    )
    op.execute(_ENQUEUE)


def downgrade() -> None:
    op.execute(_ENQUEUE_BEFORE)
    op.execute("DELETE FROM webhook_deliveries WHERE alert_event_id IS NULL")
    op.drop_constraint("ck_webhook_deliveries_kind", "webhook_deliveries")
    op.drop_column("webhook_deliveries", "event_number")
    op.drop_column("webhook_deliveries", "kind")
    op.alter_column("webhook_deliveries", "alert_event_id", nullable=False)
    op.execute("DELETE FROM webhooks WHERE kind = 'fhir'")
    op.drop_constraint("ck_webhooks_kind", "webhooks")
    op.drop_constraint("fk_webhooks_patient_id_patients", "webhooks")
    for column in (
        "last_queued_at",
        "events_since_start",
        "fhir_base",
        "reason",
        "patient_id",
        "headers",
        "heartbeat_s",
        "payload_content",
        "status",
        "kind",
    ):
        op.drop_column("webhooks", column)
