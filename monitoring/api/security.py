"""Authentication and authorisation as FastAPI dependencies.

Every route under the API prefix needs a bearer token (OAuth2 password flow);
``require`` narrows a route to some roles, and ``visible_patient`` is the one
place that decides whether a patient is the caller's to see.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.access import repository
from monitoring.access.audit import AccessEvent, Action
from monitoring.access.principal import Principal, Role
from monitoring.access.tokens import read_token
from monitoring.api.auditing import note_access_event
from monitoring.api.deps import SessionDep, SettingsDep
from monitoring.errors import ForbiddenError, NotFoundError, UnauthorizedError
from monitoring.registry.repository import get_patient
from monitoring.storage.models import Patient

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret
_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def current_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(_bearer)],
) -> Principal:
    if token is None:
        note_access_event(request, AccessEvent(Action.TOKEN_REFUSED, "no token"))
        raise UnauthorizedError("sign in first: send 'Authorization: Bearer <token>' from POST " + TOKEN_URL)
    try:
        user_id = read_token(token, settings.api)
    except UnauthorizedError as error:
        note_access_event(request, AccessEvent(Action.TOKEN_REFUSED, error.message))
        raise
    principal = await repository.principal_of(session=session, user_id=user_id)
    if principal is None:
        reason = "the account behind this token no longer exists or was deactivated"
        note_access_event(request, AccessEvent(Action.TOKEN_REFUSED, reason, user_id=user_id))
        raise UnauthorizedError(reason)
    request.state.principal = principal  # read by the audit middleware
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def bearer_token(token: Annotated[str | None, Depends(_bearer)]) -> str:
    """The caller's token itself (after ``current_principal`` has checked it)."""
    if token is None:
        raise UnauthorizedError("sign in first")
    return token


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    allowed = frozenset(roles)

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            names = " or ".join(sorted(r.value for r in allowed))
            raise ForbiddenError(f"this needs the {names} role; you are signed in as {principal.role.value}")
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
CareTeamDep = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN))]


async def visible_patient(
    *, request: Request, session: AsyncSession, principal: Principal, patient_id: UUID
) -> Patient:
    """The patient, if the caller may see them; 404 otherwise (whether or not they exist)."""
    request.state.audit_patient = patient_id
    patient = await get_patient(session=session, patient_id=patient_id)
    if patient is None or not principal.sees(patient):
        raise NotFoundError(f"patient {patient_id} does not exist or is not in your care teams")
    return patient
