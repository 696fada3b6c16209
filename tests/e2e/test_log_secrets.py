"""No credential reaches a log line: the whole output of a real `monitoring api` process, at DEBUG.

One session as clients use it: a failed and a good sign-in, a token refresh, a
live stream opened the wrong way (token in the URL) and the right way, an alert
worked, a webhook with Basic credentials in its URL registered and delivered.
Then every password, token, webhook secret and URL credential is looked for in
everything the process printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from monitoring.embedded.broker import free_port
from monitoring.storage.db import Database
from monitoring.storage.models import User
from tests.factories import PASSWORD
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.e2e

HOOK_USER, HOOK_PASSWORD = "hookuser", "hook-basic-password-not-for-logs"
SECRET_KEY = "k" * 48


@contextmanager
def _receiver() -> Iterator[tuple[int, list[dict[str, str]]]]:
    """A webhook receiver on loopback that keeps each request's headers."""
    got: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the standard library's name
            self.rfile.read(int(self.headers.get("content-length", 0)))
            got.append(dict(self.headers))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], got
    finally:
        server.shutdown()


async def _wait_for(condition: object, seconds: float) -> None:
    for _ in range(int(seconds * 10)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.1)


async def test_a_full_session_logs_no_credential(database: Database, database_url: str) -> None:
    world = await build(database)
    async with database.sessions() as session:
        coordinator = await session.get(User, world.users["coordinator"])
        admin = await session.get(User, world.users["admin"])
        assert coordinator is not None
        assert admin is not None
        names = (coordinator.username, admin.username)
        assert (await session.scalar(select(User.id).where(User.username == names[0]))) is not None
    port = free_port()
    env = {
        **os.environ,
        "RPM_ENVIRONMENT": "test",
        "RPM_LOG_LEVEL": "DEBUG",
        "RPM_DATABASE__URL": database_url,
        "RPM_API__PORT": str(port),
        "RPM_API__SECRET_KEY": SECRET_KEY,
        "RPM_ALERTS__WEBHOOK_ALLOW_LOOPBACK": "true",
    }
    process = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "monitoring_cli", "api"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    secrets: list[str] = [PASSWORD, SECRET_KEY, HOOK_PASSWORD]
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        with _receiver() as (hook_port, deliveries):
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                for _ in range(100):
                    try:
                        if (await http.get(f"http://127.0.0.1:{port}/ready")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
                wrong = await http.post(
                    "/auth/token", data={"username": names[0], "password": "wrong " + PASSWORD}
                )
                assert wrong.status_code == 401
                tokens = {}
                for name in names:
                    signed = await http.post("/auth/token", data={"username": name, "password": PASSWORD})
                    assert signed.status_code == 200, signed.text
                    tokens[name] = signed.json()["access_token"]
                coordinator_headers = {"Authorization": f"Bearer {tokens[names[0]]}"}
                admin_headers = {"Authorization": f"Bearer {tokens[names[1]]}"}
                refreshed = await http.post("/auth/refresh", headers=coordinator_headers)
                secrets += [*tokens.values(), refreshed.json()["access_token"]]

                hook = await http.post(
                    "/webhooks",
                    json={"url": f"http://{HOOK_USER}:{HOOK_PASSWORD}@127.0.0.1:{hook_port}/in"},
                    headers=admin_headers,
                )
                assert hook.status_code == 201, hook.text
                assert HOOK_PASSWORD not in hook.text  # shown masked, even to its creator
                secrets.append(hook.json()["secret"])

                stream = f"ws://127.0.0.1:{port}/api/v1/alerts/stream"
                async with connect(f"{stream}?access_token={tokens[names[0]]}") as wrong_way:
                    with pytest.raises(ConnectionClosed):
                        await asyncio.wait_for(wrong_way.recv(), timeout=5)
                async with connect(stream) as socket:
                    await socket.send(json.dumps({"type": "authenticate", "token": tokens[names[0]]}))
                    assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5))["type"] == "ready"
                    alerts = (await http.get("/alerts", headers=coordinator_headers)).json()["items"]
                    done = await http.post(
                        f"/alerts/{alerts[0]['id']}/comments",
                        json={"text": "called"},
                        headers=coordinator_headers,
                    )
                    assert done.status_code == 200
                    event = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
                    assert event["type"] == "alert"
                await _wait_for(lambda: bool(deliveries), 30)  # the webhook job runs every 10 s
            assert deliveries, "the webhook was delivered"
            assert deliveries[0]["Authorization"].startswith("Basic ")  # the URL's credentials were used
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.to_thread(process.communicate, timeout=30)
    assert "access_token=[redacted]" in output, "uvicorn's line for the stream opened with a token in the URL"
    assert "DEBUG" in output
    found = [secret[:12] + "..." for secret in secrets if secret in output]
    assert found == [], output[-4000:]
