"""The live alert stream over a real WebSocket: each change reaches those who may see it, and no one else.

The token travels in the first message, never in the URL; the stream ends (1008,
with a reason) when the token expires unrenewed or the account loses its access.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from monitoring.access.tokens import issue_token
from monitoring.storage.db import Database
from tests.api_support import SETTINGS, serving, token_for
from tests.monitoring.api.access_world import World, build

pytestmark = pytest.mark.integration


async def _next(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    return message


async def _signed_in(socket: ClientConnection, token: str) -> dict[str, Any]:
    await socket.send(json.dumps({"type": "authenticate", "token": token}))
    ready = await _next(socket)
    assert ready["type"] == "ready", ready
    return ready


async def _closed(socket: ClientConnection, within_s: float) -> tuple[int, str, float]:
    """Wait for the server to close the socket; (code, reason, seconds it took)."""
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        await _drain(socket, within_s)
    assert closed.value.rcvd is not None, "the server closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason, time.monotonic() - started


async def _drain(socket: ClientConnection, within_s: float) -> None:
    """Read (and ignore) messages until the socket closes; TimeoutError if it stays open."""
    async with asyncio.timeout(within_s):
        while True:
            await socket.recv()


async def _act(http: httpx.AsyncClient, base: str, user: UUID, patient: UUID, action: str) -> None:
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    found = await http.get(f"{base}/alerts", params={"patient_id": str(patient)}, headers=headers)
    alert_id = found.json()["items"][0]["id"]
    body = {"text": "left a voicemail"} if action == "comments" else {}
    done = await http.post(f"{base}/alerts/{alert_id}/{action}", json=body, headers=headers)
    assert done.status_code == 200, done.text


async def test_alert_changes_reach_only_the_teams_that_may_see_them(database: Database) -> None:
    world = await build(database)
    async with serving(database) as address:
        base = f"http://{address}/api/v1"
        coordinator, outsider = world.users["coordinator"], world.users["outsider"]
        async with (
            connect(f"ws://{address}/api/v1/alerts/stream") as mine,
            connect(f"ws://{address}/api/v1/alerts/stream") as theirs,
            httpx.AsyncClient() as http,
        ):
            await _signed_in(mine, token_for(coordinator))
            await _signed_in(theirs, token_for(outsider))
            await _act(http, base, coordinator, world.patient, "acknowledge")
            await _act(http, base, outsider, world.other_patient, "comments")
            got_mine, got_theirs = await _next(mine), await _next(theirs)
            with pytest.raises(TimeoutError):  # nothing else is coming to either of them
                await asyncio.wait_for(mine.recv(), timeout=0.5)
    assert got_mine["type"] == "alert"
    assert (got_mine["event"], got_mine["alert"]["patient_id"]) == ("acknowledge", str(world.patient))
    assert got_mine["alert"]["status"] == "acknowledged"
    assert (got_theirs["event"], got_theirs["alert"]["patient_id"]) == ("comment", str(world.other_patient))


async def test_a_bad_token_is_refused(database: Database) -> None:
    async with serving(database) as address, connect(f"ws://{address}/api/v1/alerts/stream") as socket:
        await socket.send(json.dumps({"type": "authenticate", "token": "not-a-token"}))
        code, reason, _ = await _closed(socket, 5)
    assert code == 1008
    assert "not valid" in reason


async def test_a_token_in_the_url_is_refused(database: Database) -> None:
    world = await build(database)
    token = token_for(world.users["coordinator"])
    async with (
        serving(database) as address,
        connect(f"ws://{address}/api/v1/alerts/stream?access_token={token}") as socket,
    ):
        code, reason, _ = await _closed(socket, 5)
    assert (code, "not put the token in the URL" in reason) == (1008, True)


async def _admin_changes(address: str, world: World, user: UUID, change: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.patch(
            f"http://{address}/api/v1/users/{user}",
            json=change,
            headers={"Authorization": f"Bearer {token_for(world.users['admin'])}"},
        )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("change", "said"),
    [({"active": False}, "deactivated"), ({"team_ids": []}, "access changed")],
    ids=["deactivated", "removed from the team"],
)
async def test_the_stream_ends_within_30_s_of_losing_access(
    database: Database, change: dict[str, Any], said: str
) -> None:
    world = await build(database)
    coordinator = world.users["coordinator"]
    async with serving(database) as address:  # the hub's real recheck interval
        async with connect(f"ws://{address}/api/v1/alerts/stream") as socket:
            await _signed_in(socket, token_for(coordinator))
            await _admin_changes(address, world, coordinator, change)
            code, reason, took = await _closed(socket, 30)
        async with connect(f"ws://{address}/api/v1/alerts/stream") as again:  # and cannot come back
            await again.send(json.dumps({"type": "authenticate", "token": token_for(coordinator)}))
            if change.get("active") is False:
                refused, _, _ = await _closed(again, 5)
                assert refused == 1008
            else:  # still signed in, but the old team's alerts no longer reach them
                await _next(again)
                async with httpx.AsyncClient() as http:
                    await _act(
                        http, f"http://{address}/api/v1", world.users["clinician"], world.patient, "comments"
                    )
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(again.recv(), timeout=1.0)
    assert (code, said in reason) == (1008, True), reason
    assert took <= 30


def _expiring_token(user: UUID, in_s: float) -> str:
    """A token that runs out ``in_s`` seconds from now."""
    issued = datetime.now(UTC) - timedelta(seconds=SETTINGS.api.token_ttl_s - in_s)
    return issue_token(user_id=user, role="coordinator", settings=SETTINGS.api, now=issued)


async def test_the_stream_ends_when_the_token_expires_unless_renewed_on_the_socket(
    database: Database,
) -> None:
    world = await build(database)
    coordinator = world.users["coordinator"]
    async with serving(database, recheck_s=0.5) as address:
        async with (
            connect(f"ws://{address}/api/v1/alerts/stream") as lapsing,
            connect(f"ws://{address}/api/v1/alerts/stream") as renewing,
            httpx.AsyncClient() as http,
        ):
            await _signed_in(lapsing, _expiring_token(coordinator, 3))
            await _signed_in(renewing, _expiring_token(coordinator, 3))
            await renewing.send(json.dumps({"type": "authenticate", "token": token_for(coordinator)}))
            assert (await _next(renewing))["type"] == "renewed"
            code, reason, _ = await _closed(lapsing, 10)
            await asyncio.sleep(1.0)  # past the first token's expiry
            await _act(http, f"http://{address}/api/v1", coordinator, world.patient, "comments")
            still = await _next(renewing)
            # Another user's token cannot be slipped into an open stream.
            await renewing.send(
                json.dumps({"type": "authenticate", "token": token_for(world.users["outsider"])})
            )
            swapped, swap_reason, _ = await _closed(renewing, 5)
    assert (code, "expired" in reason) == (1008, True)
    assert (still["type"], still["alert"]["patient_id"]) == ("alert", str(world.patient))
    assert (swapped, "same user" in swap_reason) == (1008, True)
