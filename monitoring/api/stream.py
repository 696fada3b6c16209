"""Real-time alert events for the care team, over a WebSocket.

Every insert into ``alert_events`` is announced by PostgreSQL (NOTIFY, from a
trigger), whichever process made the change. The hub holds one LISTEN
connection per API process, loads the alert and its patient once per event,
and passes it to every subscriber allowed to see that patient.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.engine import make_url

from monitoring.access.principal import Principal
from monitoring.api.schemas import AlertOut
from monitoring.storage.db import Database
from monitoring.storage.models import Alert, Patient

log = logging.getLogger(__name__)
CHANNEL = "alert_events"
QUEUE_SIZE = 1000


@dataclass(eq=False, slots=True)
class Subscriber:
    principal: Principal
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0

    def offer(self, message: dict[str, Any]) -> None:
        if self.queue.full():  # a slow client loses its oldest events, never blocks the others
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)


class AlertHub:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._subscribers: set[Subscriber] = set()
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()

    async def subscribe(self, principal: Principal) -> Subscriber:
        if self._listener is None or self._listener.done():
            self._ready.clear()
            self._listener = asyncio.create_task(self._listen(), name="alert-hub-listener")
        await asyncio.wait_for(self._ready.wait(), timeout=10)
        subscriber = Subscriber(principal)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def _listen(self) -> None:
        dsn = make_url(self.database.url).set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                connection = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("alert stream cannot reach the database (%s); retrying", error)
                await asyncio.sleep(2)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _c, gone=lost: gone.set())
            try:
                await connection.add_listener(CHANNEL, self._notified)
                self._ready.set()
                await lost.wait()
                log.warning("alert stream lost its database connection; reconnecting")
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(json.loads(str(payload))))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, event: dict[str, Any]) -> None:
        try:
            await self._fan_out(event)
        except Exception:  # one bad event must not stop the stream
            log.exception("could not deliver alert event %s", event)

    async def _fan_out(self, event: dict[str, Any]) -> None:
        if not self._subscribers:
            return
        async with self.database.sessions() as session:
            alert = await session.get(Alert, UUID(event["alert_id"]))
            patient = None if alert is None else await session.get(Patient, alert.patient_id)
        if alert is None or patient is None:
            return
        message = {"event": event["kind"], "alert": AlertOut.model_validate(alert).model_dump(mode="json")}
        for subscriber in list(self._subscribers):
            if subscriber.principal.sees(patient):
                subscriber.offer(message)
