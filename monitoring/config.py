"""Service configuration: one ``Settings`` read from ``RPM_*`` environment variables.

Nested sections use a double underscore: ``RPM_DATABASE__URL``, ``RPM_MQTT__URL``.
Every default runs ``monitoring demo`` on a fresh machine: with no database or
broker URL the service starts embedded ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices.contract import DEFAULT_TOPIC_ROOT

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL the service connects with (its runtime role), e.g. "
        "postgresql+asyncpg://rpm_app@host:5432/rpm; empty starts an embedded PostgreSQL under data_dir.",
    )
    owner_url: str | None = Field(
        default=None,
        description="URL of the role that owns the schema, for migrations (monitoring migrate, --migrate); "
        "default: url. The runtime role is granted its privileges after each migration.",
    )
    pool_size: int = Field(default=10, ge=1, le=200)
    statement_timeout_ms: int = Field(default=30_000, ge=100)

    @field_validator("url", "owner_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value and not value.startswith("postgresql"):
            raise ValueError("only PostgreSQL is supported (postgresql+asyncpg://...)")
        if value and value.startswith("postgresql://"):
            value = "postgresql+asyncpg://" + value.removeprefix("postgresql://")
        return value


class MqttSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="mqtt://user:password@host:port; empty starts an embedded broker.",
    )
    client_id: str = Field(default="rpm-ingest", min_length=1, max_length=64)
    topic_root: str = Field(default=DEFAULT_TOPIC_ROOT, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    protocol: Literal["5", "3.1.1"] = "5"
    # How many unacknowledged messages the broker may push to ingestion (MQTT v5 Receive Maximum).
    receive_maximum: int = Field(default=20_000, ge=1, le=65_535)
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    keepalive_s: int = Field(default=30, ge=5, le=600)
    shared_group: str | None = Field(
        default=None,
        description="Share one subscription between workers ($share/GROUP/...); only with a broker that "
        "routes a group by device (EMQX hash_topic) and each patient's devices on one member; "
        "else use RPM_INGEST__PARTITIONS.",
    )

    ca_file: Path | None = Field(
        default=None,
        description="CA certificate that signed the broker's (mqtts://); default: the system's trust store.",
    )

    @property
    def tls(self) -> bool:
        return bool(self.url) and urlsplit(self.url or "").scheme == "mqtts"

    def service_accounts(self) -> list[str]:
        """The broker usernames the service itself signs in with (no device may take one)."""
        username = urlsplit(self.url).username if self.url else None
        return [username] if username else []

    def endpoint(self) -> tuple[str, int, str | None, str | None]:
        """(host, port, username, password) of the configured broker."""
        if not self.url:
            raise ValueError("no broker URL configured")
        parts = urlsplit(self.url)
        if parts.scheme not in ("mqtt", "tcp", "mqtts"):
            raise ValueError(f"unsupported broker scheme {parts.scheme!r} (mqtt:// or mqtts://)")
        default_port = 8883 if parts.scheme == "mqtts" else 1883
        return parts.hostname or "127.0.0.1", parts.port or default_port, parts.username, parts.password


class IngestSettings(BaseModel):
    max_batch: int = Field(default=2000, ge=1, le=50_000, description="Messages per write batch.")
    flush_ms: int = Field(default=5, ge=0, le=5000, description="Longest wait to fill a batch.")
    retry_max_s: float = Field(default=10.0, gt=0, description="Back-off ceiling on store failure.")
    device_cache_s: float = Field(default=30.0, ge=0)
    dead_letters_per_device_hour: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Dead letters kept per device and hour; the rest are counted, not kept.",
    )
    http_port: int | None = Field(
        default=None,
        ge=1,
        le=65_535,
        description="Serve /health, /ready (and /metrics) on this port when the process runs no API.",
    )
    partitions: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Ingestion workers sharing the load; each owns a share of patients.",
    )
    partition: int = Field(default=0, ge=0, description="This worker's share, 0 .. partitions - 1.")

    @model_validator(mode="after")
    def _partition_exists(self) -> IngestSettings:
        if self.partition >= self.partitions:
            raise ValueError(
                f"RPM_INGEST__PARTITION must be below RPM_INGEST__PARTITIONS ({self.partitions})"
            )
        return self


class NatsSettings(BaseModel):
    """Ingestion from a NATS JetStream cluster; devices still speak MQTT, to the cluster's MQTT listeners."""

    url: str | None = Field(
        default=None,
        description="nats://host:port, comma-separated for a cluster: workers take messages from JetStream "
        "and share patients through leased partitions (RPM_MQTT__URL then names one of the cluster's "
        "MQTT listeners, for the service account); empty: an MQTT session (Mosquitto).",
    )
    partitions: int = Field(
        default=32,
        ge=1,
        le=1024,
        description="Partitions of patients leased out to workers: the most workers that can share the "
        "load. The same on every worker; changing it means stopping them all.",
    )
    lease_s: float = Field(
        default=12.0,
        ge=2,
        le=300,
        description="A partition lease lasts this long unless renewed (every quarter of it); a dead "
        "worker's partitions move after it.",
    )
    ack_wait_s: float = Field(
        default=10.0, ge=1, le=600, description="JetStream redelivers a message not acknowledged this long."
    )
    replicas: int = Field(default=3, ge=1, le=5, description="Copies of the partition stream in the cluster.")
    subject_prefix: str = Field(default="rpm", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    ca_file: Path | None = Field(
        default=None,
        description="CA that signed the nodes' certificates (tls:// URLs); default: the system's store.",
    )

    def servers(self) -> list[str]:
        return [server.strip() for server in (self.url or "").split(",") if server.strip()]


class DetectionSettings(BaseModel):
    replay_hours: float = Field(
        default=6.0, ge=0, description="Readings replayed into detectors at start-up."
    )
    resolve_on_clear: bool = Field(
        default=False,
        description="Resolve an alert when its episode ends (default: mark it cleared; a person closes it).",
    )
    checkpoint_s: float = Field(
        default=60.0, ge=1, description="How often changed detector state is saved to the database."
    )
    late_after_s: float = Field(
        default=900.0,
        gt=0,
        description="Alerts raised this long after their reading was measured are marked late.",
    )


class AlertSettings(BaseModel):
    """How long an open alert may wait for acknowledgement before it escalates, by severity."""

    escalate_critical_s: int = Field(default=300, ge=30, description="Critical alerts: 5 minutes.")
    escalate_high_s: int = Field(default=900, ge=30, description="High alerts: 15 minutes.")
    escalate_medium_s: int = Field(default=3600, ge=30, description="Medium alerts: 1 hour.")
    escalate_low_s: int = Field(default=14_400, ge=30, description="Low alerts: 4 hours.")
    max_escalations: int = Field(default=3, ge=0, le=10, description="Tiers above the care team.")
    webhook_allow_loopback: bool = Field(
        default=False,
        description="Let webhooks go to 127.0.0.1/::1 (a receiver on this machine); refused in production.",
    )

    def wait_for(self, severity: str) -> int:
        return int(getattr(self, f"escalate_{severity}_s"))


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    max_page_size: int = Field(default=1000, ge=1, le=10_000)
    glance_refresh_s: int = Field(
        default=300,
        ge=10,
        le=86_400,
        description="How often the patient panel's time in ranges, adherence and sparklines are recomputed.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=64 * 1_048_576,
        description="Largest request body accepted (413 above).",
    )
    token_ttl_s: int = Field(default=900, ge=60, le=86_400, description="Lifetime of an access token.")
    session_max_s: int = Field(
        default=12 * 3600,
        ge=300,
        le=7 * 86_400,
        description="Refreshed tokens never reach past this long after the password was given (a shift).",
    )
    token_audience: str = "rpm-care-team"
    token_issuer: str = "rpm-monitoring"
    login_max_failures: int = Field(
        default=5, ge=1, le=1000, description="Failed sign-ins per account and window."
    )
    login_window_s: int = Field(default=300, ge=1, le=86_400)
    tls_cert_file: Path | None = Field(
        default=None, description="Serve HTTPS with this certificate (chain) file; with tls_key_file."
    )
    tls_key_file: Path | None = Field(default=None, description="The private key of tls_cert_file.")
    cors_origins: tuple[str, ...] = Field(
        default=(), description="Browser origins allowed to call the API from other sites; none by default."
    )
    export_dir: Path = Field(
        default=Path("var/exports"),
        description="Where FHIR Bulk Data exports write their NDJSON files (shared by every API and "
        "scheduler process that serves or runs exports).",
    )
    export_keep_h: float = Field(
        default=24.0,
        gt=0,
        le=24 * 30,
        description="Hours a finished Bulk Data export's files are kept; then they are deleted and "
        "its status URL answers 404.",
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        description="Addresses or networks of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; none by default (the client address is the peer's).",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RPM_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path(".rpm-data"), description="Where embedded services keep their files.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    nats: NatsSettings = NatsSettings()
    detection: DetectionSettings = DetectionSettings()
    alerts: AlertSettings = AlertSettings()
    api: ApiSettings = ApiSettings()

    @model_validator(mode="after")
    def _one_way_to_share_load(self) -> Settings:
        if self.mqtt.shared_group and self.ingest.partitions > 1:
            raise ValueError(
                "RPM_MQTT__SHARED_GROUP and RPM_INGEST__PARTITIONS > 1 are two ways to share load"
            )
        if self.nats.url and (self.mqtt.shared_group or self.ingest.partitions > 1):
            raise ValueError(
                "with RPM_NATS__URL workers share patients through leases; "
                "leave RPM_MQTT__SHARED_GROUP and RPM_INGEST__PARTITIONS unset"
            )
        return self

    @model_validator(mode="after")
    def _tls_needs_both_files(self) -> Settings:
        if (self.api.tls_cert_file is None) != (self.api.tls_key_file is None):
            raise ValueError("RPM_API__TLS_CERT_FILE and RPM_API__TLS_KEY_FILE go together")
        return self

    @model_validator(mode="after")
    def _no_loopback_webhooks_in_production(self) -> Settings:
        if self.environment == "production" and self.alerts.webhook_allow_loopback:
            raise ValueError("RPM_ALERTS__WEBHOOK_ALLOW_LOOPBACK is for development and tests only")
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment == "development":
            return self
        if self.api.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
            raise ValueError(f"RPM_API__SECRET_KEY must be set when environment={self.environment}")
        if len(self.api.secret_key.get_secret_value()) < 32:
            raise ValueError("RPM_API__SECRET_KEY must be at least 32 characters")
        return self
