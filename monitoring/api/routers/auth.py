"""Signing in (OAuth2 password flow) and who the caller is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from monitoring.access import repository
from monitoring.access.audit import AccessEvent, Action
from monitoring.access.passwords import DUMMY_HASH, verify_off_loop
from monitoring.access.throttle import LoginThrottle
from monitoring.access.tokens import issue_token, read_claims
from monitoring.api.auditing import client_of, note_access_event
from monitoring.api.deps import SessionDep, SettingsDep
from monitoring.api.schemas.access import PreferencesIn, TokenOut, UserOut, user_out
from monitoring.api.schemas.common import ErrorBody
from monitoring.api.security import PrincipalDep, bearer_token
from monitoring.errors import TooManyRequestsError, UnauthorizedError

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
    typed = form.username.strip()[:128]
    account = f"user:{typed.lower()}"
    keys = (account, f"ip:{client_of(request) or '?'}")
    wait = throttle.retry_after(keys, allowance=_PER_ADDRESS)
    user = await repository.user_by_username(session=session, username=form.username)
    if wait is not None:
        who = user.id if user is not None else None
        note_access_event(request, AccessEvent(Action.SIGN_IN_LOCKED, f"locked for {wait} s", typed, who))
        raise TooManyRequestsError(f"too many failed sign-ins; try again in {wait} s", wait)
    if user is None:
        await verify_off_loop(DUMMY_HASH, form.password)  # same time as for a real user
        throttle.failed(keys)
        note_access_event(request, AccessEvent(Action.SIGN_IN_FAILED, "no such user", typed))
        raise UnauthorizedError("wrong username or password")
    if not await verify_off_loop(user.password_hash, form.password) or not user.active:
        throttle.failed(keys)
        reason = "wrong password" if user.active else "account deactivated"
        note_access_event(request, AccessEvent(Action.SIGN_IN_FAILED, reason, typed, user.id))
        raise UnauthorizedError("wrong username or password")
    throttle.succeeded(account)
    note_access_event(request, AccessEvent(Action.SIGN_IN, "password", user.username, user.id))
    return TokenOut(
        access_token=issue_token(user_id=user.id, role=user.role, settings=settings.api),
        expires_in=settings.api.token_ttl_s,
    )


@router.post(
    "/refresh",
    summary="Exchange a valid token for a fresh one (no further than the session's limit)",
    responses=_UNAUTHORIZED,
)
async def refresh(
    settings: SettingsDep, principal: PrincipalDep, token: Annotated[str, Depends(bearer_token)]
) -> TokenOut:
    claims = read_claims(token, settings.api)
    fresh = issue_token(
        user_id=principal.user_id,
        role=principal.role.value,
        settings=settings.api,
        auth_time=claims.auth_time,
    )
    expires = read_claims(fresh, settings.api).expires_at
    return TokenOut(access_token=fresh, expires_in=max(0, int((expires - datetime.now(UTC)).total_seconds())))


@router.get("/me", summary="The signed-in user and their care teams", responses=_UNAUTHORIZED)
async def me(session: SessionDep, principal: PrincipalDep) -> UserOut:
    user = await repository.get_user(session=session, user_id=principal.user_id)
    assert user is not None  # the principal was loaded from it in this request
    return user_out(user, sorted(principal.team_ids))


@router.patch("/me", summary="The signed-in user's own preferences (glucose unit)", responses=_UNAUTHORIZED)
async def set_preferences(session: SessionDep, principal: PrincipalDep, body: PreferencesIn) -> UserOut:
    user = await repository.set_glucose_unit(
        session=session, user_id=principal.user_id, unit=body.glucose_unit
    )
    return user_out(user, sorted(principal.team_ids))
