"""Real-time alert events for the care team, over a WebSocket.

Every insert into ``alert_events`` is announced by PostgreSQL (NOTIFY, from a
trigger), whichever process made the change. The hub holds one LISTEN
connection per API process, loads the alert and its patient once per event,
and passes it to every subscriber allowed to see that patient.

Access is not decided once, at connection: every ``recheck_s`` the hub reloads
all subscribers' accounts in one query and ends the subscription of anyone who
was deactivated, whose role, site or care teams changed, or whose token expired
without being renewed on the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.engine import make_url

from monitoring.access import repository
from monitoring.access.principal import Principal
from monitoring.alerts.repository import alert_with_patient, names_of
from monitoring.api.schemas.alerts import Names, named
from monitoring.storage.db import Database

log = logging.getLogger(__name__)
CHANNEL = "alert_events"
QUEUE_SIZE = 1000
RECHECK_S = 10.0  # a lost right ends the stream within this (the bound is 30 s)


@dataclass(eq=False, slots=True)
class Subscriber:
    principal: Principal
    expires_at: datetime
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: str = ""

    def end(self, reason: str) -> None:
        if not self.ended.is_set():
            self.end_reason = reason
            self.ended.set()

    def offer(self, message: dict[str, Any]) -> None:
        if self.queue.full():  # a slow client loses its oldest events, never blocks the others
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)


class AlertHub:
    def __init__(self, database: Database, *, recheck_s: float = RECHECK_S) -> None:
        self.database = database
        self.recheck_s = recheck_s
        self._subscribers: set[Subscriber] = set()
        self._listener: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()

    async def subscribe(self, principal: Principal, *, expires_at: datetime) -> Subscriber:
        if self._listener is None or self._listener.done():
            self._ready.clear()
            self._listener = asyncio.create_task(self._listen(), name="alert-hub-listener")
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch(), name="alert-hub-access")
        await asyncio.wait_for(self._ready.wait(), timeout=10)
        subscriber = Subscriber(principal, expires_at)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    async def close(self) -> None:
        for task in (self._listener, self._watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_s)
            try:
                await self.recheck(datetime.now(UTC))
            except Exception:  # the database may be away; try again next round
                log.exception("could not recheck the live stream's subscribers")

    async def recheck(self, now: datetime) -> None:
        """End the subscriptions whose token expired or whose account no longer has the same access."""
        subscribers = list(self._subscribers)
        if not subscribers:
            return
        async with self.database.sessions() as session:
            current = await repository.principals_of(
                session=session, user_ids=list({s.principal.user_id for s in subscribers})
            )
        for subscriber in subscribers:
            now_is = current.get(subscriber.principal.user_id)
            if now_is is None:
                subscriber.end("the account was deactivated")
            elif now_is != subscriber.principal:
                subscriber.end("your access changed (care teams or role); sign in again")
            elif subscriber.expires_at <= now:
                subscriber.end("the access token expired; authenticate again on the socket or reconnect")

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
            found = await alert_with_patient(session=session, alert_id=UUID(event["alert_id"]))
            if found is None:
                return
            alert, patient = found
            _, users = await names_of(
                session=session, patient_ids=(), user_ids=[alert.assigned_to] if alert.assigned_to else []
            )
        names = Names({patient.id: (patient.display_name, patient.mrn, patient.time_zone)}, users)
        message = {"event": event["kind"], "alert": named(alert, names).model_dump(mode="json")}
        for subscriber in list(self._subscribers):
            if not subscriber.ended.is_set() and subscriber.principal.sees(patient):
                subscriber.offer(message)
