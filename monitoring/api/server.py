"""How the API (or a worker's health endpoint) is served: uvicorn, configured in one place.

Forwarded headers (``X-Forwarded-For``, ``X-Forwarded-Proto``) are believed only
from the reverse proxies named in ``RPM_API__TRUSTED_PROXIES``. uvicorn's own
default trusts them from 127.0.0.1, which let any local client choose its own
address and so escape the sign-in throttle's per-address count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from monitoring.config import Settings


class ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the runtime decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server_config(app: FastAPI, settings: Settings, *, port: int, host: str | None = None) -> uvicorn.Config:
    proxies = list(settings.api.trusted_proxies)
    return uvicorn.Config(
        app,
        host=host or settings.api.host,
        port=port,
        log_level=settings.log_level.lower(),
        lifespan="off",
        access_log=False,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or [],
        ssl_certfile=settings.api.tls_cert_file,
        ssl_keyfile=settings.api.tls_key_file,
    )
