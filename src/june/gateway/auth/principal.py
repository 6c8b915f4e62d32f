"""Who is calling: a bearer token (JWT access token or API key) made into a :class:`Principal`.

Every route except login, refresh and the operational endpoints depends on
:func:`current_principal` (or :func:`rate_limited`, which also charges the
request against the caller's limits). The WebSocket route, which cannot send
headers from a browser, passes its token to :func:`authenticate` itself.
Tokens starting with ``june_`` are API keys, looked up by hash in PostgreSQL
(so a revoked key is refused at once); anything else must be an access JWT,
checked by signature and expiry alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from fastapi import Request

from june.gateway.auth.accounts import is_api_key, key_owner
from june.gateway.auth.tokens import TokenError, decode, signing_key
from june.gateway.context import GatewayContext
from june.gateway.errors import ApiError
from june.gateway.ratelimit import charge

T = TypeVar("T")

HOW_TO_AUTHENTICATE = (
    "authentication required: send `Authorization: Bearer <token>` with an access token "
    "from POST /v1/auth/login or an API key (POST /v1/auth/keys, or `june keys create`)"
)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user, and whether a JWT or an API key proved it."""

    user_id: str  # UUID string
    name: str
    is_admin: bool
    via: str  # "jwt" or "api_key"


def _unauthorized(code: str, message: str) -> ApiError:
    challenge = 'Bearer realm="june"'
    if code != "unauthorized":  # RFC 6750: an expired token is an invalid_token too
        challenge += ', error="invalid_token"'
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


async def in_database(context: GatewayContext, work: Callable[..., T], *args: Any) -> T:
    """``work(engine, *args)`` in a worker thread; 503 naming PostgreSQL when it is down."""
    from sqlalchemy.exc import OperationalError

    from june.inference.documents.database import unavailable

    engine = await context.engine()
    try:
        return await asyncio.to_thread(work, engine, *args)
    except OperationalError as exc:
        url = engine.url.render_as_string(hide_password=True)
        raise ApiError(503, "unavailable", str(unavailable(url, exc.orig))) from None


async def authenticate(context: GatewayContext, token: str) -> Principal:
    """The principal of a raw bearer token, or ApiError 401 (``invalid_token``, ``token_expired``).

    An API key needs the database: while PostgreSQL is down that is a 503
    naming it, not a 401 (the key may well be good).
    """
    token = token.strip()
    if not token:
        raise _unauthorized("unauthorized", HOW_TO_AUTHENTICATE)
    if is_api_key(token):
        account = await in_database(context, key_owner, token)
        if account is None:
            raise _unauthorized("invalid_token", "the API key is unknown or has been revoked")
        principal = Principal(str(account.id), account.name, account.is_admin, "api_key")
    else:
        try:
            claims = decode(signing_key(context.settings), token, "access")
        except TokenError as exc:
            raise _unauthorized(exc.code, exc.message) from None
        principal = Principal(claims.user_id, claims.name, claims.is_admin, "jwt")
    structlog.contextvars.bind_contextvars(user_id=principal.user_id)
    return principal


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller of this request, from ``Authorization: Bearer …``.

    The result is kept on ``request.state`` so several dependencies of one
    request authenticate it once.
    """
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("unauthorized", HOW_TO_AUTHENTICATE)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(
            "unauthorized", f"the Authorization header is not a bearer token; {HOW_TO_AUTHENTICATE}"
        )
    principal = await authenticate(request.app.state.context, token)
    request.state.principal = principal
    return principal


async def rate_limited(request: Request) -> Principal:
    """FastAPI dependency: :func:`current_principal`, charged one request (429 when over)."""
    principal = await current_principal(request)
    await charge(request.app.state.context, principal, requests=1)
    return principal
