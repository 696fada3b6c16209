"""Short-lived JWT bearer tokens (HS256), checked for signature, expiry, audience and issuer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt

from monitoring.config import ApiSettings
from monitoring.errors import UnauthorizedError

ALGORITHM = "HS256"


def issue_token(*, user_id: UUID, role: str, settings: ApiSettings, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role,
        "aud": settings.token_audience,
        "iss": settings.token_issuer,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=settings.token_ttl_s)).timestamp()),
    }
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)


def read_token(token: str, settings: ApiSettings) -> UUID:
    """The user a token was issued to; a specific 401 for every way a token can be wrong."""
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
        return UUID(claims["sub"])
    except ValueError as error:
        raise UnauthorizedError("the access token does not name a user") from error
