"""ORM models: the tables of the service. The schema itself is built by Alembic migrations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


class Site(Base):
    """A hospital site whose patients are monitored."""

    __tablename__ = "sites"

    id: Mapped[uuid.UUID] = _uuid_pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class CareTeam(Base):
    """A group of care-team members who look after a set of patients at one site."""

    __tablename__ = "care_teams"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    # Who holds the team's on-call now: escalations go to them.
    on_call_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", name="fk_care_teams_on_call_user")
    )
    on_call_since: Mapped[datetime | None] = mapped_column(Timestamp)


class User(Base):
    """Someone who signs in to the care-team API: an admin, coordinator or clinician of one site."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'coordinator', 'clinician')", name="role"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    glucose_unit: Mapped[str] = mapped_column(String(8), server_default="mg/dL")  # mg/dL or mmol/L
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("care_teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuditEntry(Base):
    """Who read or changed what, about which patients, when and from where (append-only).

    Refusals are recorded too (a failed sign-in, a lock-out, a refused token):
    then the user may be unknown and ``detail`` says why.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_patient_at", "patient_id", "at"),
        Index("ix_audit_log_patient_ids", "patient_ids", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now(), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(300))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The patients a list or search answer returned.
    patient_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    client: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("site_id", "mrn"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    care_team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_teams.id"), index=True)
    mrn: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    conditions: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    enrolled_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    time_zone: Mapped[str] = mapped_column(String(64), server_default="UTC")  # IANA name


class PatientGlance(Base):
    """What the patient panel shows that takes weeks of readings to compute, refreshed by a job."""

    __tablename__ = "patient_glance"

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    computed_at: Mapped[datetime] = mapped_column(Timestamp)
    time_in_range: Mapped[float | None] = mapped_column(Double)  # % of CGM readings, last 14 days
    time_below_70: Mapped[float | None] = mapped_column(Double)
    time_below_54: Mapped[float | None] = mapped_column(Double)
    time_above_250: Mapped[float | None] = mapped_column(Double)
    previous_time_in_range: Mapped[float | None] = mapped_column(Double)  # the 14 days before
    adherence_days: Mapped[int] = mapped_column(Integer)  # of the last 30, in the patient's zone
    spark_series: Mapped[int | None] = mapped_column(SmallInteger)
    spark: Mapped[list[float | None] | None] = mapped_column(ARRAY(Double))


class CarePlanThreshold(Base):
    """A per-patient limit on one series, with persistence and hysteresis."""

    __tablename__ = "care_plan_thresholds"

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    series: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    low: Mapped[float | None] = mapped_column(Double)
    high: Mapped[float | None] = mapped_column(Double)
    severity: Mapped[str] = mapped_column(String(16))
    persist_readings: Mapped[int] = mapped_column(Integer)
    persist_seconds: Mapped[int | None] = mapped_column(Integer)
    high_persist_readings: Mapped[int | None] = mapped_column(Integer)
    high_persist_seconds: Mapped[int | None] = mapped_column(Integer)
    hysteresis: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = _uuid_pk()
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"))
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(255))  # the secret is shown once
    nats_password_hash: Mapped[str | None] = mapped_column(String(255))  # the same secret, as NATS checks it
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    online: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    battery: Mapped[float | None] = mapped_column(Double)
    firmware: Mapped[str | None] = mapped_column(String(64))
    status_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_seen_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    # Refused messages beyond the hourly dead-letter bound: counted here, not kept.
    refused_unstored: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class Reading(Base):
    """One stored value of one series, in its canonical unit.

    Partitioned by month on ``measured_at``. The primary key is the reading's
    identity (device, series, measured time): storing it is idempotent.
    """

    __tablename__ = "readings"
    __table_args__ = (
        Index("ix_readings_patient_series_time", "patient_id", "series", "measured_at"),
        {"postgresql_partition_by": "RANGE (measured_at)"},
    )

    device_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    series: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    measured_at: Mapped[datetime] = mapped_column(Timestamp, primary_key=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    value: Mapped[float] = mapped_column(Double)
    seq: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(Timestamp)
    original_value: Mapped[float | None] = mapped_column(Double)
    original_unit: Mapped[str | None] = mapped_column(String(16))
    sqi: Mapped[float | None] = mapped_column(Double)


class DeadLetter(Base):
    """A message or reading that could not be stored, kept with its reason."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    topic: Mapped[str] = mapped_column(String(512))
    device_serial: Mapped[str | None] = mapped_column(String(64), index=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    reading_index: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_truncated: Mapped[bool] = mapped_column(Boolean)


class Alert(Base):
    """One alert; at most one active (open or acknowledged) per patient and alert type."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_active_patient_type",
            "patient_id",
            "alert_type",
            unique=True,
            postgresql_where=text("status IN ('open', 'acknowledged')"),
        ),
        Index("ix_alerts_status_opened", "status", "opened_at"),
        Index("ix_alerts_patient_opened", "patient_id", "opened_at"),
        CheckConstraint("status IN ('open', 'acknowledged', 'resolved', 'dismissed')", name="status"),
        CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="severity"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    alert_type: Mapped[str] = mapped_column(String(96))
    detector: Mapped[str] = mapped_column(String(64))
    series: Mapped[int | None] = mapped_column(SmallInteger)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    summary: Mapped[str] = mapped_column(Text)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONB)
    opened_at: Mapped[datetime] = mapped_column(Timestamp)
    episode_started_at: Mapped[datetime] = mapped_column(Timestamp)
    last_episode_started_at: Mapped[datetime] = mapped_column(Timestamp)
    last_triggered_at: Mapped[datetime] = mapped_column(Timestamp)
    occurrences: Mapped[int] = mapped_column(Integer, server_default="1")
    cleared_at: Mapped[datetime | None] = mapped_column(Timestamp)
    acknowledged_at: Mapped[datetime | None] = mapped_column(Timestamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    snoozed_until: Mapped[datetime | None] = mapped_column(Timestamp)
    dismissed_reason: Mapped[str | None] = mapped_column(Text)
    escalation_level: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class AlertEvent(Base):
    """A recorded change of an alert: who (NULL: the system) did what, when."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(Timestamp)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class DetectorCheckpoint(Base):
    """A patient's detector state (JSON), saved on a schedule and at shutdown."""

    __tablename__ = "detector_checkpoints"

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    saved_at: Mapped[datetime] = mapped_column(Timestamp)


class Webhook(Base):
    """An HTTPS endpoint of a site that receives its alert changes, signed with ``secret``.

    Kind ``fhir`` is a FHIR Subscription (R4 Subscriptions Backport) on the alert-changes topic:
    its notifications are FHIR Bundles, optionally for one patient, with handshake and heartbeat.
    """

    __tablename__ = "webhooks"
    __table_args__ = (CheckConstraint("kind IN ('webhook', 'fhir')", name="kind"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))  # needed to sign, so kept; shown once at creation
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    kind: Mapped[str] = mapped_column(String(16), server_default="webhook")
    # FHIR: requested (until the handshake is taken), active, error (handshake refused), off.
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    payload_content: Mapped[str | None] = mapped_column(String(16))  # id-only, full-resource or empty
    heartbeat_s: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[list[str] | None] = mapped_column(ARRAY(String(500)))  # "Name: value", sent as given
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    reason: Mapped[str | None] = mapped_column(String(500))
    fhir_base: Mapped[str | None] = mapped_column(String(500))  # what its notifications point at
    events_since_start: Mapped[int] = mapped_column(BigInteger, server_default="0")
    last_queued_at: Mapped[datetime | None] = mapped_column(Timestamp)  # heartbeats count from here


class WebhookDelivery(Base):
    """One alert event owed to one webhook (queued by a trigger on ``alert_events``)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        CheckConstraint("kind IN ('event', 'handshake', 'heartbeat')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    alert_event_id: Mapped[int | None] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), server_default="event")
    event_number: Mapped[int | None] = mapped_column(BigInteger)  # in its subscription's sequence
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp)


# The interoperability and cluster tables live in their own modules; importing them here
# registers them on Base.metadata, so whoever loads the models (Alembic, the tests) has the
# whole schema.
from monitoring.storage import cluster_models, interop_models  # noqa: E402, F401
