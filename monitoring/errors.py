"""Domain errors. Each carries its HTTP status; the API maps them in one handler."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    retry_after_s: int | None = None  # sent as Retry-After when set

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"


class UnauthorizedError(DomainError):
    """No valid credentials: missing, expired, tampered or meant for someone else."""

    status_code = 401
    code = "unauthorized"


class ForbiddenError(DomainError):
    status_code = 403
    code = "forbidden"


class InvalidRequestError(DomainError):
    """A well-formed request that asks for something the service will not do (e.g. a too-wide range)."""

    status_code = 400
    code = "invalid_request"


class TooManyRequestsError(DomainError):
    """Slow down: retry after ``retry_after_s`` seconds."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s: int | None = retry_after_s
