"""``/v1/auth``: log in, refresh a session, who am I, and the caller's API keys.

A session is a pair of tokens: a short-lived access token sent with every
request, and a long-lived refresh token that gets a new pair without the
password (the user is read again then, so a removed user cannot refresh).
Refreshing hands out a new refresh token too; the old one stays valid until
it expires (tokens are not stored), so a client simply keeps the newest.

API keys are for scripts: made once, shown once, stored as a hash. Making and
revoking keys needs a session from a password login, not an API key, so a
leaked key cannot mint more keys or lock its owner's other keys out.

Login and refresh are not counted against the per-user rate limit (there is
no user yet); argon2's cost slows password guessing, and a reverse proxy in
front of the gateway should limit failed logins per address.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from june.gateway.auth import Principal, rate_limited
from june.gateway.auth.accounts import (
    Account,
    AccountError,
    KeyInfo,
    anyone_can_sign_in,
    check_login,
    create_key,
    get_account,
    list_keys,
    revoke_key,
)
from june.gateway.auth.principal import in_database
from june.gateway.auth.tokens import TokenError, decode, issue, signing_key
from june.gateway.context import GatewayContext, get_context
from june.gateway.errors import ApiError
from june.settings import Settings

router = APIRouter(prefix="/v1/auth", tags=["auth"])

Context = Annotated[GatewayContext, Depends(get_context)]
Caller = Annotated[Principal, Depends(rate_limited)]


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    #: Seconds the access token is valid for.
    expires_in: int


class Me(BaseModel):
    id: str
    name: str
    is_admin: bool
    #: How this request proved who it is: "jwt" or "api_key".
    via: str


class NewKeyRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="What the key is for, e.g. 'ci'.")


class KeyRecord(BaseModel):
    id: str
    name: str
    #: The key's first characters, to recognise it; the key itself is never shown again.
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


class NewKey(KeyRecord):
    #: The key: shown once, in this response only.
    key: str


class KeyList(BaseModel):
    keys: list[KeyRecord]


def _tokens(settings: Settings, account: Account) -> TokenPair:
    key = signing_key(settings)
    who = (str(account.id), account.name, account.is_admin)
    access, ttl = issue(key, "access", *who, settings.gateway.access_token_ttl_s)
    refresh, _ = issue(key, "refresh", *who, settings.gateway.refresh_token_ttl_s)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)


def _record(info: KeyInfo) -> KeyRecord:
    return KeyRecord(
        id=str(info.id),
        name=info.name,
        prefix=info.prefix,
        created_at=info.created_at,
        last_used_at=info.last_used_at,
        revoked=info.revoked,
    )


def _needs_session(principal: Principal) -> None:
    if principal.via != "jwt":
        raise ApiError(
            403,
            "forbidden",
            "API keys are managed with a logged-in session (POST /v1/auth/login), "
            "not with an API key",
        )


def _account_error(exc: AccountError) -> ApiError:
    status = {"exists": 409, "not_found": 404}.get(exc.code, 400)
    code = {"exists": "conflict", "not_found": "not_found"}.get(exc.code, "invalid_request")
    return ApiError(status, code, exc.message)


class Setup(BaseModel):
    #: False: nobody can sign in yet; the first user is made with ``june users add NAME``.
    has_users: bool


@router.get("/setup", response_model=Setup)
async def setup(context: Context) -> Setup:
    """Whether anyone can sign in yet, so the sign-in screen can say how to make a user.

    Needs no token (there is nobody to have one); it tells only whether a user
    with a password exists, never who.
    """
    return Setup(has_users=await in_database(context, anyone_can_sign_in))


@router.post("/login", response_model=TokenPair)
async def login(body: LoginRequest, context: Context) -> TokenPair:
    """Trade a user name and password for an access token and a refresh token."""
    account = await in_database(context, check_login, body.username, body.password)
    if account is None:
        raise ApiError(401, "invalid_credentials", "wrong user name or password")
    return _tokens(context.settings, account)


@router.post("/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, context: Context) -> TokenPair:
    """A new token pair for a valid refresh token (the user must still exist)."""
    try:
        claims = decode(signing_key(context.settings), body.refresh_token, "refresh")
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.message) from None
    account = await in_database(context, get_account, claims.user_id)
    if account is None:
        raise ApiError(401, "invalid_token", "the user of this refresh token no longer exists")
    return _tokens(context.settings, account)


@router.get("/me", response_model=Me)
async def me(principal: Caller) -> Me:
    """Who the token in this request belongs to."""
    return Me(
        id=principal.user_id, name=principal.name, is_admin=principal.is_admin, via=principal.via
    )


@router.post("/keys", response_model=NewKey, status_code=201)
async def new_key(body: NewKeyRequest, principal: Caller, context: Context) -> NewKey:
    """Make an API key for yourself; the response is the only time the key is shown."""
    _needs_session(principal)
    try:
        key, info = await in_database(context, create_key, uuid.UUID(principal.user_id), body.name)
    except AccountError as exc:
        raise _account_error(exc) from None
    return NewKey(key=key, **_record(info).model_dump())


@router.get("/keys", response_model=KeyList)
async def keys(principal: Caller, context: Context) -> KeyList:
    """Your API keys, revoked ones included: names and prefixes, never the keys."""
    infos = await in_database(context, list_keys, uuid.UUID(principal.user_id))
    return KeyList(keys=[_record(info) for info in infos])


@router.delete("/keys/{name}", status_code=204)
async def revoke(name: str, principal: Caller, context: Context) -> Response:
    """Revoke your live key called ``name``; requests with it are refused from now on."""
    _needs_session(principal)
    infos = await in_database(context, list_keys, uuid.UUID(principal.user_id), False)
    match = next((info for info in infos if info.name == name), None)
    if match is None:
        raise ApiError(404, "not_found", f"you have no live key named {name!r}")
    await in_database(context, revoke_key, match.id)
    return Response(status_code=204)
