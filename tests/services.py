"""Where the test services are, and what to do when one is missing.

With ``CI`` set, a test that needs PostgreSQL or Mosquitto fails when the
service is unreachable; on a developer machine it is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

DATABASE_URL = os.environ.get("RPM_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
MQTT_URL = os.environ.get("RPM_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require(name: str, url: str, default_port: int) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: services are required)", pytrace=False)
    pytest.skip(reason)


def require_postgres() -> None:
    require("PostgreSQL", DATABASE_URL.replace("postgresql+asyncpg", "postgresql"), 5432)


def require_mosquitto() -> None:
    require("Mosquitto", MQTT_URL, 1883)


def shared_datasets() -> Path:
    """The public datasets: ``RPM_DATASETS``, or ``shared/datasets`` beside the repository (or above it)."""
    if "RPM_DATASETS" in os.environ:
        candidates = [Path(os.environ["RPM_DATASETS"])]
    else:
        repository = Path(__file__).resolve().parents[1]
        candidates = [parent / "shared" / "datasets" for parent in repository.parents]
    for root in candidates:
        if (root / "cgm").is_dir():
            return root
    reason = f"the shared datasets are in none of {', '.join(map(str, candidates[:3]))}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: they are required)", pytrace=False)
    pytest.skip(reason)
