"""Security headers on every HTTP response (plain ASGI middleware: no cost beyond the headers).

- Everything: no MIME sniffing, no referrer, no framing.
- The API under ``/api/``: ``Cache-Control: no-store`` (responses carry patient
  data; no browser or proxy may keep them) and a policy that loads nothing.
- The dashboard's pages: its own policy (scripts, styles and connections from
  this origin only) and revalidation so that a new release shows at once.
- Production also sends Strict-Transport-Security (it is served over HTTPS).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_API = (
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
_HSTS = ((b"strict-transport-security", b"max-age=31536000; includeSubDomains"),)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, pages_prefix: str, pages_policy: str, https: bool) -> None:
        self.app = app
        self.pages_prefix = pages_prefix
        self.pages = ((b"content-security-policy", pages_policy.encode()), (b"cache-control", b"no-cache"))
        self.base = _ALWAYS + (_HSTS if https else ())

    def _for(self, path: str) -> tuple[tuple[bytes, bytes], ...]:
        if path.startswith("/api/"):
            return self.base + _API
        if path.startswith(self.pages_prefix):
            return self.base + self.pages
        return self.base  # /docs loads Swagger UI's own scripts: no policy of ours there

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._for(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, with_headers)
