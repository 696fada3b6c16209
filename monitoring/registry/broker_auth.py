"""The broker's own account list: per-device MQTT credentials and an ACL, written from the registry.

Devices authenticate to the broker, not to this service, so a device's password
is stored in the brokers' formats: Mosquitto's ``$7$`` PBKDF2-SHA512
(``$7$<iterations>$<base64 salt>$<base64 key>``), and bcrypt for a NATS
cluster's MQTT listeners (``nats_auth``). The password file is then
written from the database, never from a secret in hand. The ACL lets each
device publish on its own two topics and read nothing; the ingestion account
reads every device's topics and writes their readings topics (the Nightscout gateway publishes an
uploader's entries as its device). Mosquitto rereads both files on SIGHUP.

>>> stored = broker_hash("s3cret-enough", iterations=1000)
>>> stored.startswith("$7$1000$"), verify_broker_hash(stored, "s3cret-enough")
(True, True)
>>> verify_broker_hash(stored, "a guess")
False
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from devices.contract import CONTRACT_VERSION
from monitoring.registry.repository import broker_hashes
from monitoring.storage.db import Database

# Mosquitto verifies on every CONNECT: enough work to slow guessing from a stolen file,
# little enough that thousands of devices reconnecting after a broker restart are not a storm.
ITERATIONS = 20_000
_SALT_BYTES = 12
_KEY_BYTES = 64
# NATS checks bcrypt on every CONNECT too. A device's password is 192 random bits (never guessed,
# whatever the work factor), so its cost is kept low for reconnect storms; a service account's
# password is chosen by a person and gets bcrypt's usual cost.
DEVICE_BCRYPT_COST = 8
SERVICE_BCRYPT_COST = 11


def broker_hash(password: str, *, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _KEY_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def verify_broker_hash(stored: str, password: str) -> bool:
    try:
        _, scheme, iterations, salt, key = stored.split("$")
        if scheme != "7":
            return False
        expected = base64.b64decode(key)
        got = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations), len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def nats_hash(password: str, *, cost: int = DEVICE_BCRYPT_COST) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()


def verify_nats_hash(stored: str, password: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), stored.encode())
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class BrokerHashes:
    """One device password as each broker checks it."""

    mosquitto: str
    nats: str


def _both(password: str) -> BrokerHashes:
    return BrokerHashes(broker_hash(password), nats_hash(password))


async def broker_hashes_off_loop(password: str) -> BrokerHashes:
    """Both hashes in a worker thread: tens of milliseconds of CPU stay off the event loop."""
    return await asyncio.to_thread(_both, password)


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    username: str
    password: str


def password_file(devices: Iterable[tuple[str, str]], services: Iterable[ServiceAccount]) -> str:
    lines = [f"{username}:{stored}" for username, stored in devices]
    lines += [f"{s.username}:{broker_hash(s.password)}" for s in services]
    return "\n".join(lines) + "\n"


def acl_file(root: str, services: Iterable[ServiceAccount]) -> str:
    base = f"{root}/v{CONTRACT_VERSION}/devices"
    lines = [
        "# Written by `monitoring broker-auth`; edits are overwritten.",
        "# Every device (its username is its id): publish on its own topics, read nothing.",
        f"pattern write {base}/%u/readings",
        f"pattern write {base}/%u/status",
        "",
    ]
    for service in services:
        lines += [
            f"# Service account {service.username}: reads every device's topics, publishes a Nightscout",
            "# uploader's entries as its device, and clears a readings message a device wrongly retained.",
            f"user {service.username}",
            f"topic readwrite {base}/+/readings",
            f"topic read {base}/+/status",
            "",
        ]
    return "\n".join(lines)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` at once (readers never see half a file), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.chmod(temporary, 0o600)
    temporary.replace(path)


def check_services(services: Iterable[ServiceAccount]) -> None:
    for service in services:
        if not service.username or not service.password:
            raise ValueError("a service account needs a username and a password")


def not_services(hashes: dict[str, str], services: Iterable[ServiceAccount]) -> dict[str, str]:
    """A device never gets a service account's name (refused at registration; skipped here too)."""
    taken = {s.username.lower() for s in services}
    return {serial: stored for serial, stored in hashes.items() if serial.lower() not in taken}


async def export(
    database: Database, *, root: str, services: list[ServiceAccount], passwd: Path, acl: Path
) -> int:
    """Write the broker's password file and ACL; returns how many devices may connect."""
    check_services(services)
    async with database.sessions() as session:
        hashes = await broker_hashes(session=session)
    # Serials were checked against the contract's pattern at registration: no ACL wildcards in them.
    devices = [
        (serial, stored)
        for serial, stored in not_services(hashes, services).items()
        if stored.startswith("$7$")
    ]
    await asyncio.to_thread(write_private, passwd, password_file(devices, services))
    await asyncio.to_thread(write_private, acl, acl_file(root, services))
    return len(devices)
