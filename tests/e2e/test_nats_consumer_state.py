"""The partition consumers keep their state in the nodes' memory: what that may and may not lose.

Three local nodes and the ingestion link's own streams and consumers. The
state of a consumer (what was delivered and acknowledged) is replicated but
not written to disk, so two things must hold: a node killed and started
again gets it back from the others (an acknowledged message is not delivered
again, an unacknowledged one still is), and when every node is killed at once
the consumer starts over from what its stream still holds, which is exactly
what was not acknowledged.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitoring.config import MqttSettings, NatsSettings
from monitoring.ingest.nats_link import MQTT_STREAM, NatsLink, Puller
from tests.faults.cluster import NatsCluster, nats_server_path

pytestmark = pytest.mark.e2e

PARTITIONS = 4


async def _link(cluster: NatsCluster) -> NatsLink:
    settings = NatsSettings(url=cluster.url, partitions=PARTITIONS, ack_wait_s=30)
    return await NatsLink.connect(
        settings, MqttSettings(url=cluster.mqtt_url, protocol="3.1.1"), name="state"
    )


async def _take(link: NatsLink, count: int, *, within_s: float = 60) -> list[int]:
    """The next ``count`` messages of partition 0 (their numbers), each acknowledged once taken."""
    puller = await Puller.bind(link.js, link.partition_consumer(0), link.eval_stream, "partition 0")
    taken: list[int] = []
    deadline = asyncio.get_running_loop().time() + within_s
    try:
        while len(taken) < count and asyncio.get_running_loop().time() < deadline:
            for message in await puller.next(count - len(taken)):
                taken.append(int(message.data))
                await message.ack_sync()
    finally:
        await puller.close()
    return taken


@pytest.mark.timeout(240)
async def test_consumer_state_survives_a_node_restart_and_a_whole_cluster_restart_skips_nothing(
    tmp_path: Path,
) -> None:
    nats_server_path()
    cluster = NatsCluster(tmp_path, PARTITIONS)
    await asyncio.to_thread(cluster.start)
    link = await _link(cluster)
    try:
        for consumer, stream in (
            (link.partition_consumer(0), link.eval_stream),
            (link.route_consumer(0), MQTT_STREAM),
        ):
            info = await link.js.consumer_info(stream, consumer)
            assert info.config.mem_storage is True, consumer
            assert info.cluster is not None
            assert len(info.cluster.replicas or []) == 2  # its state is on all three nodes

        for number in range(100):
            await link.js.publish(link.partition_subject(0), str(number).encode())
        assert await _take(link, 30) == list(range(30))

        # One node at a time, killed and started again: the others keep the state.
        acknowledged = 30
        for node in cluster.nodes:
            await link.close()
            await asyncio.to_thread(node.kill)
            await asyncio.to_thread(node.start)
            link = await _link(cluster)
            # Nothing acknowledged comes again, nothing is skipped.
            assert await _take(link, 10) == list(range(acknowledged, acknowledged + 10))
            acknowledged += 10

        # Every node killed at once: the state is gone, and what comes is what the stream kept.
        await link.close()
        for node in cluster.nodes:
            await asyncio.to_thread(node.kill)
        for node in cluster.nodes:
            await asyncio.to_thread(node.start)
        link = await _link(cluster)
        rest = await _take(link, 100 - acknowledged)
        assert sorted(rest) == list(range(acknowledged, 100))
        assert await _take(link, 10, within_s=3) == []  # nothing more
    finally:
        await link.close()
        await asyncio.to_thread(cluster.stop)
