"""Short-lived JWT bearer tokens (HS256), checked for signature, expiry, audience and issuer.

A token may be exchanged for a fresh one while it is valid (``POST /auth/refresh``),
so a dashboard left open keeps working; ``auth_time`` (when the password was
given) carries over, and no refresh reaches past ``session_max_s`` after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt

from monitoring.config import ApiSettings
from monitoring.errors import UnauthorizedError

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Claims:
    """What a valid token says: whose it is, until when, and when its session began."""

    user_id: UUID
    expires_at: datetime
    auth_time: datetime


def issue_token(
    *,
    user_id: UUID,
    role: str,
    settings: ApiSettings,
    now: datetime | None = None,
    auth_time: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    began = auth_time or issued
    expires = min(
        issued + timedelta(seconds=settings.token_ttl_s), began + timedelta(seconds=settings.session_max_s)
    )
    claims = {
        "sub": str(user_id),
        "role": role,
        "aud": settings.token_audience,
        "iss": settings.token_issuer,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "auth_time": int(began.timestamp()),
    }
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)


def read_token(token: str, settings: ApiSettings) -> UUID:
    """The user a token was issued to; a specific 401 for every way a token can be wrong."""
    return read_claims(token, settings).user_id


def read_claims(token: str, settings: ApiSettings) -> Claims:
    """A valid token's claims; a specific 401 for every way a token can be wrong."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise UnauthorizedError("the access token has expired; sign in again") from error
    except jwt.InvalidAudienceError as error:
        raise UnauthorizedError("the access token was issued for another service") from error
    except jwt.InvalidIssuerError as error:
        raise UnauthorizedError("the access token was issued by someone else") from error
    except jwt.InvalidSignatureError as error:
        raise UnauthorizedError("the access token's signature does not verify") from error
    except jwt.PyJWTError as error:
        raise UnauthorizedError(f"the access token is not valid: {error}") from error
    try:
        user_id = UUID(claims["sub"])
    except ValueError as error:
        raise UnauthorizedError("the access token does not name a user") from error
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    began = claims.get("auth_time", claims["iat"])
    return Claims(user_id, expires, datetime.fromtimestamp(int(began), UTC))
