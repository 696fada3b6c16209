"""HTTP hardening: security headers, CORS only for configured origins, sign-in throttling."""

from __future__ import annotations

import httpx
import pytest

from monitoring.access.principal import Role
from monitoring.config import Settings
from monitoring.storage.db import Database
from tests import factories
from tests.api_support import SETTINGS, api_client, serving

pytestmark = pytest.mark.integration


async def _username(database: Database) -> str:
    user_id = await factories.user(database, Role.CLINICIAN)
    async with api_client(database) as admin:
        users = (await admin.get("/api/v1/users", params={"limit": 1000})).json()["items"]
    return str(next(u["username"] for u in users if u["id"] == str(user_id)))


async def test_api_responses_are_not_cached_sniffed_or_framed(database: Database) -> None:
    async with api_client(database) as client:
        api = await client.get("/api/v1/patients")
        refused = await client.get("/api/v1/patients", headers={"Authorization": "Bearer nonsense"})
        page = await client.get("/app/")
    for response in (api, refused):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in response.headers
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-cache"


async def test_production_sends_strict_transport_security(database: Database) -> None:
    production = Settings(environment="production", api={"secret_key": "p" * 40})
    async with api_client(database, settings=production) as client:
        response = await client.get("/api/v1/patients")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_cors_answers_only_the_configured_origins(database: Database) -> None:
    allowed = "https://care.example.org"
    settings = Settings(environment="test", api={"secret_key": "x" * 40, "cors_origins": [allowed]})
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    async with api_client(database, settings=settings) as client:
        ours = await client.options("/api/v1/patients", headers={"Origin": allowed, **preflight})
        theirs = await client.options(
            "/api/v1/patients", headers={"Origin": "https://evil.example", **preflight}
        )
    async with api_client(database) as client:  # the default: no cross-origin callers at all
        default = await client.get("/api/v1/patients", headers={"Origin": allowed})
    assert ours.status_code == 200
    assert ours.headers["access-control-allow-origin"] == allowed
    assert "access-control-allow-origin" not in theirs.headers
    assert "access-control-allow-origin" not in default.headers


async def test_repeated_failed_sign_ins_are_throttled_per_account(database: Database) -> None:
    username = await _username(database)
    other = await _username(database)
    limit = SETTINGS.api.login_max_failures
    async with api_client(database, as_user=None) as client:

        async def sign_in(who: str, password: str) -> tuple[int, str | None]:
            response = await client.post("/api/v1/auth/token", data={"username": who, "password": password})
            return response.status_code, response.headers.get("retry-after")

        failures = [await sign_in(username, "guess number one") for _ in range(limit)]
        blocked = await sign_in(username, factories.PASSWORD)  # even the right password must wait
        elsewhere = await sign_in(other, factories.PASSWORD)  # another account from this address
    assert [status for status, _ in failures] == [401] * limit
    assert blocked[0] == 429
    assert blocked[1] is not None
    assert 0 < int(blocked[1]) <= SETTINGS.api.login_window_s
    assert elsewhere[0] == 200


async def test_one_address_cannot_try_many_accounts_without_limit(database: Database) -> None:
    limit = SETTINGS.api.login_max_failures
    async with api_client(database, as_user=None) as client:
        statuses = [
            (
                await client.post(
                    "/api/v1/auth/token", data={"username": f"nobody-{i}", "password": "x" * 12}
                )
            ).status_code
            for i in range(limit * 4 + 1)
        ]
    assert statuses[:-1] == [401] * (limit * 4)
    assert statuses[-1] == 429


async def test_oversized_bodies_and_nul_characters_are_refused_before_any_handler(database: Database) -> None:
    async with api_client(database) as admin:
        big = await admin.post("/api/v1/teams", content=b'{"name": "' + b"x" * 2_000_000 + b'"}')
        assert big.status_code == 413
        assert big.json()["error"]["code"] == "payload_too_large"
        nul = await admin.post("/api/v1/webhooks", json={"url": "https://hooks.example.org/\u0000"})
        assert nul.status_code == 422
        assert "NUL" in nul.json()["error"]["message"]
        in_query = await admin.get("/api/v1/alerts?since=2026%00")
        assert in_query.status_code == 422
        # An escaped backslash before "u0000" is ordinary text, not a NUL.
        fine = await admin.post("/api/v1/teams", json={"name": "backslash \\u0000 team"})
        assert fine.status_code == 201
        assert fine.json()["name"] == "backslash \\u0000 team"
        unparsable = await admin.post(
            "/api/v1/teams", content=b"{not json", headers={"content-type": "application/json"}
        )
        # A malformed request answers in the one documented error shape, naming the field.
        assert unparsable.status_code == 422
        error = unparsable.json()["error"]
        assert error["code"] == "validation_failed"
        assert error["fields"][0]["location"].startswith("body")
        assert "JSON" in error["message"]
        missing = await admin.post("/api/v1/teams", json={})
        assert missing.json()["error"]["fields"] == [{"location": "body.name", "message": "Field required"}]


async def _failures_with_rotating_forwarded_for(address: str, count: int) -> list[int]:
    """Failed sign-ins for many accounts, each claiming another client address in X-Forwarded-For."""
    async with httpx.AsyncClient(base_url=f"http://{address}") as client:
        return [
            (
                await client.post(
                    "/api/v1/auth/token",
                    data={"username": f"nobody-{i}", "password": "x" * 12},
                    headers={"X-Forwarded-For": f"203.0.113.{i % 250 + 1}"},
                )
            ).status_code
            for i in range(count)
        ]


async def test_forwarded_addresses_are_believed_only_from_configured_proxies(database: Database) -> None:
    """Served by uvicorn as the service serves it: a client cannot pick its own address."""
    allowance = SETTINGS.api.login_max_failures * 4
    async with serving(database) as address:
        by_peer = await _failures_with_rotating_forwarded_for(address, allowance + 1)
    behind_proxy = Settings(
        environment="test", api={"secret_key": "x" * 40, "trusted_proxies": ["127.0.0.1"]}
    )
    async with serving(database, settings=behind_proxy) as address:
        by_forwarded = await _failures_with_rotating_forwarded_for(address, allowance + 1)
    assert by_peer == [401] * allowance + [429]  # the peer's own address was counted
    assert by_forwarded == [401] * (allowance + 1)  # behind a trusted proxy: each client its own count
