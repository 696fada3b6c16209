"""Telling JetStream that a worker is still on the messages it holds, so they are not delivered twice.

A message not acknowledged within its consumer's ack wait is delivered again.
A worker holds messages longer than that only when it is behind: a backlog
queued behind others, a route batch waiting for the cluster to confirm its
copies, or the database away during a failover. Delivered again, such messages
are stored once, but the work is done twice, which puts the worker further
behind (a warm-up flood absorbed 80,000 redelivered readings before this).

So every message a worker takes is *held* here until it is acknowledged or
let go, and one held for a third of the ack wait is marked in progress
(``+WPI``), which restarts its ack wait. A worker that keeps up marks nothing.
Two things still bring a message back: the worker dies (nothing marks it any
more), or the worker lets it go (a partition whose lease was lost). And a
message is marked for ``MOST_WAITS`` ack waits at most, so a worker stuck for
good cannot keep its messages from JetStream forever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

import nats.errors
from nats.aio.client import Client

from monitoring.observability import metrics

log = logging.getLogger(__name__)

MOST_WAITS = 10


class InProgress:
    def __init__(self, client: Client, ack_wait_s: float) -> None:
        self.client = client
        self.mark_after_s = ack_wait_s / 3
        self.most_s = MOST_WAITS * ack_wait_s
        # reply subject -> (taken, last marked or taken), monotonic seconds
        self._held: dict[str, tuple[float, float]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, replies: Iterable[str]) -> None:
        now = time.monotonic()
        for reply in replies:
            if reply:
                self._held[reply] = (now, now)

    def release(self, replies: Iterable[str]) -> None:
        for reply in replies:
            self._held.pop(reply, None)

    async def mark_due(self) -> int:
        """Mark what has waited a third of the ack wait since it was taken or last marked; how many."""
        now = time.monotonic()
        due = [
            (reply, taken)
            for reply, (taken, marked) in self._held.items()
            if now - marked >= self.mark_after_s
        ]
        sent = 0
        for reply, taken in due:
            if now - taken >= self.most_s:
                # Held too long: JetStream may deliver it again (to whoever then reads the partition).
                self._held.pop(reply, None)
                continue
            if reply not in self._held:  # acknowledged or let go while this loop awaited
                continue
            await self.client.publish(reply, b"+WPI")
            self._held[reply] = (taken, now)
            sent += 1
        if sent:
            metrics.MESSAGES_MARKED_IN_PROGRESS.inc(sent)
        return sent

    async def run(self) -> None:
        """Mark due messages until cancelled, checking twice per ``mark_after_s``."""
        while True:
            await asyncio.sleep(self.mark_after_s / 2)
            try:
                await self.mark_due()
            except nats.errors.Error as error:  # not marked: delivered again, and stored once anyway
                log.warning("messages not marked in progress: %s", error)
