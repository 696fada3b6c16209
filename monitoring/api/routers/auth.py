"""Signing in (OAuth2 password flow) and who the caller is."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from monitoring.access import repository
from monitoring.access.passwords import DUMMY_HASH, verify_off_loop
from monitoring.access.principal import Role
from monitoring.access.throttle import LoginThrottle
from monitoring.access.tokens import issue_token
from monitoring.api.access_schemas import TokenOut, UserOut
from monitoring.api.deps import SessionDep, SettingsDep
from monitoring.api.schemas import ErrorBody
from monitoring.api.security import PrincipalDep
from monitoring.errors import TooManyRequestsError, UnauthorizedError
from monitoring.storage.models import User

router = APIRouter(prefix="/auth", tags=["auth"])
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Wrong credentials or token."}
}
_THROTTLED: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORIZED,
    429: {"model": ErrorBody, "description": "Too many failed sign-ins: wait Retry-After seconds."},
}
_PER_ADDRESS = 4  # one address may fail this many times more than one account


@router.post("/token", summary="Exchange a username and password for a bearer token", responses=_THROTTLED)
async def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenOut:
    throttle: LoginThrottle = request.app.state.login_throttle
    account = f"user:{form.username.strip().lower()[:128]}"
    keys = (account, f"ip:{request.client.host if request.client else '?'}")
    wait = throttle.retry_after(keys, allowance=_PER_ADDRESS)
    if wait is not None:
        raise TooManyRequestsError(f"too many failed sign-ins; try again in {wait} s", wait)
    user = await repository.user_by_username(session=session, username=form.username)
    if user is None:
        await verify_off_loop(DUMMY_HASH, form.password)  # same time as for a real user
        throttle.failed(keys)
        raise UnauthorizedError("wrong username or password")
    if not await verify_off_loop(user.password_hash, form.password) or not user.active:
        throttle.failed(keys)
        raise UnauthorizedError("wrong username or password")
    throttle.succeeded(account)
    return TokenOut(
        access_token=issue_token(user_id=user.id, role=user.role, settings=settings.api),
        expires_in=settings.api.token_ttl_s,
    )


@router.get("/me", summary="The signed-in user and their care teams", responses=_UNAUTHORIZED)
async def me(session: SessionDep, principal: PrincipalDep) -> UserOut:
    user = await session.get(User, principal.user_id)
    assert user is not None  # the principal was loaded from it in this request
    return user_out(user, sorted(principal.team_ids))


def user_out(user: User, team_ids: list[Any]) -> UserOut:
    return UserOut(
        id=user.id,
        site_id=user.site_id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        active=user.active,
        team_ids=team_ids,
    )
