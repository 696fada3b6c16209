"""Devices keep their broker password a second time, as a bcrypt hash, for a NATS cluster's MQTT listeners.

Devices provisioned before this revision have none: they reach a NATS cluster only after their
credentials are rotated (Mosquitto keeps accepting them as before).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("nats_password_hash", sa.String(255)))


def downgrade() -> None:
    op.drop_column("devices", "nats_password_hash")
