"""The live alert stream: a WebSocket that pushes each alert change the caller may see.

The token never travels in the URL (URLs end up in logs and browser history).
The client opens ``/api/v1/alerts/stream`` and sends, as its first message
within ``AUTH_TIMEOUT_S``::

    {"type": "authenticate", "token": "<access token>"}

The server answers ``{"type": "ready", "expires_at": ...}`` and from then on
sends ``{"type": "alert", "event": "opened" | "acknowledged" | ..., "alert": {...}}``.
Before the token expires the client sends a fresh one the same way (from
``POST /auth/refresh``) and gets ``{"type": "renewed", "expires_at": ...}``.
The server closes the socket with code 1008 and a reason when the token is
refused or expires, and within ``AlertHub.recheck_s`` of the account being
deactivated or its care teams or role changing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from monitoring.access import repository
from monitoring.access.audit import AccessEvent, AccessEventBudget, Action, entry
from monitoring.access.principal import Principal
from monitoring.access.tokens import Claims, read_claims
from monitoring.api.auditing import client_of, record_access_event
from monitoring.api.stream import AlertHub, Subscriber
from monitoring.config import Settings
from monitoring.errors import UnauthorizedError
from monitoring.storage.db import Database

router = APIRouter(tags=["alerts"])
PATH = "/alerts/stream"
AUTH_TIMEOUT_S = 10.0
_MAX_MESSAGE = 8192


class Refused(Exception):
    """The socket is closed with 1008 and this reason."""


async def _message(websocket: WebSocket) -> dict[str, Any]:
    """The client's next message as a JSON object."""
    text = await websocket.receive_text()
    if len(text) > _MAX_MESSAGE:
        raise Refused("message too long")
    try:
        message = json.loads(text)
    except ValueError as error:
        raise Refused("messages must be JSON objects") from error
    if not isinstance(message, dict):
        raise Refused("messages must be JSON objects")
    return message


def _claims(message: dict[str, Any], settings: Settings) -> Claims:
    token = message.get("token")
    if message.get("type") != "authenticate" or not isinstance(token, str):
        raise Refused('send {"type": "authenticate", "token": "<access token>"}')
    try:
        return read_claims(token, settings.api)
    except UnauthorizedError as error:
        raise Refused(error.message) from error


async def _sign_in(websocket: WebSocket, settings: Settings, database: Database) -> tuple[Principal, Claims]:
    if "access_token" in websocket.query_params:
        raise Refused("do not put the token in the URL; send it in the first message")
    try:
        first = await asyncio.wait_for(_message(websocket), timeout=AUTH_TIMEOUT_S)
    except TimeoutError as error:
        raise Refused(f"no authenticate message within {AUTH_TIMEOUT_S:g} s") from error
    claims = _claims(first, settings)
    async with database.unit_of_work() as session:
        principal = await repository.principal_of(session=session, user_id=claims.user_id)
        if principal is None:
            raise Refused("the account behind this token no longer exists or was deactivated")
        session.add(
            entry(
                principal=principal,
                method="WS",
                path=websocket.url.path,
                patient_id=None,
                client=client_of(websocket),
                status=101,
                action=Action.STREAM,
            )
        )
    return principal, claims


async def _listen(websocket: WebSocket, subscriber: Subscriber, settings: Settings) -> None:
    """The client's messages: renewed tokens of the same user."""
    while True:
        claims = _claims(await _message(websocket), settings)
        if claims.user_id != subscriber.principal.user_id:
            raise Refused("a renewed token must be the same user's")
        subscriber.expires_at = claims.expires_at
        await websocket.send_json({"type": "renewed", "expires_at": claims.expires_at.isoformat()})


async def _push(websocket: WebSocket, subscriber: Subscriber) -> None:
    while True:
        message = await subscriber.queue.get()
        await websocket.send_json({"type": "alert", **message})


@router.websocket(PATH)
async def alert_stream(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    database: Database = websocket.app.state.database
    hub: AlertHub = websocket.app.state.alert_hub
    budget: AccessEventBudget = websocket.app.state.access_event_budget
    await websocket.accept()
    try:
        principal, claims = await _sign_in(websocket, settings, database)
    except Refused as refused:
        await record_access_event(
            database,
            budget,
            event=AccessEvent(Action.TOKEN_REFUSED, str(refused)),
            method="WS",
            path=websocket.url.path,
            client=client_of(websocket),
            status=status.WS_1008_POLICY_VIOLATION,
        )
        await _close(websocket, str(refused))
        return
    except WebSocketDisconnect:
        return
    subscriber = await hub.subscribe(principal, expires_at=claims.expires_at)
    try:
        await websocket.send_json({"type": "ready", "expires_at": claims.expires_at.isoformat()})
        await _serve(websocket, subscriber, settings)
    finally:
        hub.unsubscribe(subscriber)


async def _serve(websocket: WebSocket, subscriber: Subscriber, settings: Settings) -> None:
    tasks = {
        asyncio.create_task(_push(websocket, subscriber)),
        asyncio.create_task(_listen(websocket, subscriber, settings)),
        asyncio.create_task(subscriber.ended.wait()),
    }
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    reason = subscriber.end_reason
    for task in done:
        if not task.cancelled() and isinstance(task.exception(), Refused):
            reason = str(task.exception())
    if reason:
        await _close(websocket, reason)


async def _close(websocket: WebSocket, reason: str) -> None:
    """Close with 1008 and the reason: a browser sees why, not just a failed connection."""
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason[:120])
