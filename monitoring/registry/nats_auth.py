"""A NATS cluster's user list: per-device MQTT credentials and permissions, written from the registry.

The cluster's nodes include the written file in their configuration
(``include ./devices-auth.conf``) and reread it on a reload (``nats-server
--signal reload`` or SIGHUP). Each device is a user named by its serial, with
its password as a bcrypt hash, allowed to connect over MQTT only, to publish
on its own two subjects and to subscribe to nothing; NATS writes a ``.`` of an
MQTT topic as ``//`` in the subject. NATS checks a publish against the subject
*after* the cluster's mapping (``nats_link.route_mappings``), so each device
may also publish on its subjects in any route partition: still only as itself.
The ingestion service account may do everything (it creates streams and consumers and reads every partition).

A device provisioned before NATS hashes were kept has none: it is left out,
and counted, until its credentials are rotated.

>>> print(mqtt_subject("rpm/v1/devices/cgm.7/readings"))
rpm.v1.devices.cgm//7.readings
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from devices.contract import readings_topic, status_topic
from monitoring.registry.broker_auth import (
    SERVICE_BCRYPT_COST,
    ServiceAccount,
    check_services,
    nats_hash,
    not_services,
    write_private,
)
from monitoring.registry.repository import nats_hashes
from monitoring.storage.db import Database


def mqtt_subject(topic: str) -> str:
    """The NATS subject of an MQTT topic (no wildcards): ``/`` becomes ``.``, ``.`` becomes ``//``."""
    return "".join("//" if c == "." else "." if c == "/" else c for c in topic)


def routed(subject: str) -> str:
    """``<root>.v1.devices.<serial>.<channel>`` as the cluster maps it, in any route partition."""
    root, version, _, serial, channel = subject.split(".")
    return f"{root}.{version}.route.*.{serial}.{channel}"


def _device_user(root: str, serial: str, stored: str) -> str:
    own = [mqtt_subject(topic) for topic in (readings_topic(serial, root), status_topic(serial, root))]
    subjects = ", ".join(json.dumps(subject) for subject in own + [routed(s) for s in own])
    return (
        f"    {{user: {json.dumps(serial)}, password: {json.dumps(stored)}, "
        f'allowed_connection_types: ["MQTT"], '
        f'permissions: {{publish: {{allow: [{subjects}]}}, subscribe: {{deny: [">"]}}}}}}'
    )


def authorization_block(root: str, devices: Mapping[str, str], services: Iterable[ServiceAccount]) -> str:
    lines = [
        "# Written by `monitoring broker-auth --nats`; edits are overwritten. Include it in every",
        "# node's configuration; `nats-server --signal reload` rereads it.",
        "authorization {",
        "  users = [",
    ]
    for service in services:
        stored = nats_hash(service.password, cost=SERVICE_BCRYPT_COST)
        lines.append(
            f"    {{user: {json.dumps(service.username)}, password: {json.dumps(stored)}, "
            f'allowed_connection_types: ["STANDARD", "MQTT"]}}'
        )
    lines += [_device_user(root, serial, stored) for serial, stored in devices.items()]
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class NatsExport:
    devices: int  # may connect
    to_rotate: list[str]  # active, but without a NATS hash: rotate their credentials


async def export_nats(
    database: Database, *, root: str, services: list[ServiceAccount], path: Path
) -> NatsExport:
    check_services(services)
    async with database.sessions() as session:
        hashes = await nats_hashes(session=session)
    to_rotate = sorted(serial for serial, stored in hashes.items() if stored is None)
    devices = not_services({s: h for s, h in hashes.items() if h is not None}, services)
    text = await asyncio.to_thread(authorization_block, root, devices, services)
    await asyncio.to_thread(write_private, path, text)
    return NatsExport(len(devices), to_rotate)
