"""The live alert stream over a real WebSocket: each change reaches those who may see it, and no one else."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from monitoring.storage.db import Database
from tests.api_support import serving, token_for
from tests.monitoring.api.access_world import build

pytestmark = pytest.mark.integration


async def _next(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    return message


async def test_alert_changes_reach_only_the_teams_that_may_see_them(database: Database) -> None:
    world = await build(database)
    async with serving(database) as address:
        base = f"http://{address}/api/v1"
        coordinator, outsider = world.users["coordinator"], world.users["outsider"]
        async with (
            connect(f"ws://{address}/api/v1/alerts/stream?access_token={token_for(coordinator)}") as mine,
            connect(f"ws://{address}/api/v1/alerts/stream?access_token={token_for(outsider)}") as theirs,
            httpx.AsyncClient() as http,
        ):

            async def act(user: Any, patient: Any, action: str, body: dict[str, Any]) -> None:
                headers = {"Authorization": f"Bearer {token_for(user)}"}
                found = await http.get(f"{base}/alerts", params={"patient_id": str(patient)}, headers=headers)
                alert_id = found.json()["items"][0]["id"]
                done = await http.post(f"{base}/alerts/{alert_id}/{action}", json=body, headers=headers)
                assert done.status_code == 200, done.text

            await act(coordinator, world.patient, "acknowledge", {})
            await act(outsider, world.other_patient, "comments", {"text": "left a voicemail"})
            got_mine, got_theirs = await _next(mine), await _next(theirs)
            with pytest.raises(TimeoutError):  # nothing else is coming to either of them
                await asyncio.wait_for(mine.recv(), timeout=0.5)
    assert (got_mine["event"], got_mine["alert"]["patient_id"]) == ("acknowledge", str(world.patient))
    assert got_mine["alert"]["status"] == "acknowledged"
    assert (got_theirs["event"], got_theirs["alert"]["patient_id"]) == ("comment", str(world.other_patient))


async def test_a_bad_token_is_refused(database: Database) -> None:
    async with serving(database) as address:
        async with connect(f"ws://{address}/api/v1/alerts/stream?access_token=not-a-token") as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert "not valid" in closed.value.rcvd.reason
