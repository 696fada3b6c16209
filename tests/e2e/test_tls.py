"""Encryption in transit as compose configures it: HTTPS for the API, verified TLS to PostgreSQL.

(MQTT over TLS on 8883 is shown with the repository's mosquitto.conf in test_broker_acl.)
Certificates come from config/tls/make-certs.sh, the script compose's `certs` one-shot runs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from monitoring.embedded.broker import free_port
from monitoring.storage.db import Database
from tests.e2e.broker_process import REPOSITORY_CERTS
from tests.e2e.support import eventually
from tests.faults.services import PrivatePostgres, scratch_folder

pytestmark = pytest.mark.e2e


def _certificates(folder: Path, owner_uid: int | None = None) -> Path:
    certs = folder / "certs"
    command = ["sh", str(REPOSITORY_CERTS), str(certs)] + ([str(owner_uid)] if owner_uid is not None else [])
    subprocess.run(command, check=True, capture_output=True)
    return certs


def _system_postgres() -> Path:
    """A PostgreSQL build with SSL: the distribution's (the embedded wheel's has none)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    if os.environ.get("CI"):
        pytest.fail("PostgreSQL server binaries with SSL are not installed (CI is set)", pytrace=False)
    pytest.skip("PostgreSQL server binaries with SSL are not installed")


async def test_the_api_serves_https_with_the_configured_certificate(
    database_url: str, tmp_path: Path
) -> None:
    certs = await asyncio.to_thread(_certificates, tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RPM_")}
    env |= {
        "RPM_DATABASE__URL": database_url,
        "RPM_API__PORT": str(port),
        "RPM_API__TLS_CERT_FILE": str(certs / "server.crt"),
        "RPM_API__TLS_KEY_FILE": str(certs / "server.key"),
        "RPM_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "monitoring_cli", "api", env=env)
    trusted = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    try:
        async with httpx.AsyncClient(verify=trusted) as client:

            async def answers() -> bool:
                try:
                    return (await client.get(f"https://127.0.0.1:{port}/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(answers, timeout_s=60, what="the API over HTTPS")
        async with httpx.AsyncClient() as plain:
            with pytest.raises(httpx.TransportError):
                await plain.get(f"http://127.0.0.1:{port}/health")
        async with httpx.AsyncClient() as untrusting:  # the system's CAs do not know the private CA
            with pytest.raises(httpx.ConnectError):
                await untrusting.get(f"https://127.0.0.1:{port}/health")
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=20)


async def test_the_services_reach_postgresql_over_verified_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = scratch_folder()
    server = PrivatePostgres(folder, binaries=_system_postgres())
    certs = await asyncio.to_thread(_certificates, folder, server.server_user().pw_uid)
    server.options = (
        f"-c ssl=on -c ssl_cert_file={certs / 'server.crt'} -c ssl_key_file={certs / 'postgres.key'}"
    )
    await asyncio.to_thread(server.create)
    try:
        monkeypatch.setenv("PGSSLROOTCERT", str(certs / "ca.crt"))  # as compose sets it
        database = Database(server.url + "?ssl=verify-full")
        try:
            async with database.sessions() as session:
                encrypted = await session.scalar(
                    text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                )
            assert encrypted is True
        finally:
            await database.dispose()
        stranger = await asyncio.to_thread(
            _certificates, folder / "elsewhere"
        )  # another CA: an impostor's certificate
        monkeypatch.setenv("PGSSLROOTCERT", str(stranger / "ca.crt"))
        untrusting = Database(server.url + "?ssl=verify-full")
        try:
            with pytest.raises(Exception, match="certificate verify failed"):
                async with untrusting.sessions() as session:
                    await session.execute(text("SELECT 1"))
        finally:
            await untrusting.dispose()
    finally:
        await asyncio.to_thread(server.destroy)
        shutil.rmtree(folder, ignore_errors=True)
