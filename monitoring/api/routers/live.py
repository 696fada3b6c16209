"""The live alert stream: a WebSocket that pushes each alert change the caller may see.

Browsers cannot set headers on a WebSocket, so the bearer token comes as the
``access_token`` query parameter. Each message is
``{"event": "opened" | "updated" | "acknowledged" | ..., "alert": {...}}``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, status

from monitoring.access import repository
from monitoring.access.audit import entry
from monitoring.access.tokens import read_token
from monitoring.api.stream import AlertHub
from monitoring.config import Settings
from monitoring.errors import UnauthorizedError
from monitoring.storage.db import Database

router = APIRouter(tags=["alerts"])
PATH = "/alerts/stream"


@router.websocket(PATH)
async def alert_stream(websocket: WebSocket, access_token: Annotated[str, Query(max_length=4096)]) -> None:
    settings: Settings = websocket.app.state.settings
    database: Database = websocket.app.state.database
    hub: AlertHub = websocket.app.state.alert_hub
    try:
        user_id = read_token(access_token, settings.api)
    except UnauthorizedError as error:
        await _refuse(websocket, error.message)
        return
    async with database.unit_of_work() as session:
        principal = await repository.principal_of(session=session, user_id=user_id)
        if principal is None:
            await _refuse(websocket, "the account behind this token no longer exists or was deactivated")
            return
        client = websocket.client.host if websocket.client else None
        session.add(
            entry(
                principal=principal,
                method="WS",
                path=websocket.url.path,
                patient_id=None,
                client=client,
                status=101,
            )
        )
    subscriber = await hub.subscribe(principal)  # before accepting: nothing after the handshake is missed
    await websocket.accept()

    async def push() -> None:
        while True:
            await websocket.send_json(await subscriber.queue.get())

    pusher = asyncio.create_task(push())
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # the client has nothing to say; listening notices when it goes
    except WebSocketDisconnect:
        pass
    finally:
        pusher.cancel()
        hub.unsubscribe(subscriber)


async def _refuse(websocket: WebSocket, reason: str) -> None:
    """Accept, then close with 1008 and the reason: a browser sees why, not just a failed handshake."""
    await websocket.accept()
    await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason[:120])
