"""Signed tokens: short-lived access tokens and long-lived refresh tokens (JWT, HS256).

Both carry ``sub`` (the user id), ``name``, ``adm`` (admin) and a ``typ`` claim
("access" or "refresh"), so a refresh token is refused where an access token is
expected and the other way round. Access tokens are checked by signature alone
(no database read per request): removing a user or taking away admin takes
effect when their access token expires (``access_token_ttl_s``, 15 minutes by
default), because a refresh reads the user again.

The signing key is ``JUNE_GATEWAY_JWT_SECRET``. Unset, a random key is made on
first use and kept in ``$JUNE_DATA_DIR/gateway/jwt_secret`` (mode 0600): it is
written to a temporary file and hard-linked into place, so gateways starting
together on one data dir all end up with the one key, and restarts keep it
(tokens stay valid). Gateways on several hosts do not share a data dir and must
be given the same ``JUNE_GATEWAY_JWT_SECRET``. The key is never logged.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import jwt

from june.services.errors import StartupError

if TYPE_CHECKING:
    from june.settings import Settings

TokenType = Literal["access", "refresh"]
ALGORITHM = "HS256"
ISSUER = "june"
SECRET_FILE = Path("gateway") / "jwt_secret"
#: HS256 keys shorter than its 32-byte output are refused (RFC 7518, section 3.2).
MIN_SECRET_LENGTH = 32

#: Secrets read from data dirs, by file path (read once per process).
_file_secrets: dict[Path, bytes] = {}


class TokenError(Exception):
    """A token that is not accepted; ``code`` is ``invalid_token`` or ``token_expired``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    name: str
    is_admin: bool
    typ: TokenType
    expires_at: int


def secret_path(settings: Settings) -> Path:
    return settings.data_dir / SECRET_FILE


class WeakSecretError(StartupError, ValueError):
    """The configured signing key is too short: the gateway refuses to start (exit code 2)."""


def signing_key(settings: Settings) -> bytes:
    """``JUNE_GATEWAY_JWT_SECRET``, else the data dir's key, made on first use.

    A configured key shorter than :data:`MIN_SECRET_LENGTH` raises
    :class:`WeakSecretError` (which names its length, never its value); an
    empty one counts as unset, as container tools often pass empty variables.
    """
    configured = ""
    if settings.gateway.jwt_secret is not None:
        configured = settings.gateway.jwt_secret.get_secret_value().strip()
    if configured:
        if len(configured) < MIN_SECRET_LENGTH:
            raise WeakSecretError(
                f"JUNE_GATEWAY_JWT_SECRET is {len(configured)} characters long; at least "
                f"{MIN_SECRET_LENGTH} are needed (e.g. `openssl rand -base64 48`), or unset "
                "it to use a key generated in the data dir"
            )
        return configured.encode()
    path = secret_path(settings)
    cached = _file_secrets.get(path)
    if cached is None:
        cached = _file_secrets[path] = secret_from_file(path)
    return cached


def secret_from_file(path: Path) -> bytes:
    """The key in ``path``; a new one written atomically (0600) when the file does not exist.

    Two processes racing both write a temporary file; ``os.link`` lets exactly
    one of them become ``path`` and the other reads the winner's key.
    """
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise RuntimeError(f"{path} holds no usable key; delete it and a new one is made")
    return key.encode()


def issue(
    key: bytes, typ: TokenType, user_id: str, name: str, is_admin: bool, ttl_s: float
) -> tuple[str, int]:
    """A signed token of type ``typ`` valid for ``ttl_s`` seconds, and that lifetime."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": user_id,
        "name": name,
        "adm": is_admin,
        "typ": typ,
        "iat": now,
        "exp": now + int(ttl_s),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), int(ttl_s)


def decode(key: bytes, token: str, expected: TokenType) -> TokenClaims:
    """The claims of a valid, unexpired token of type ``expected``, else :class:`TokenError`."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "typ", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        what = "access token" if expected == "access" else "refresh token"
        hint = "refresh it or log in again" if expected == "access" else "log in again"
        raise TokenError("token_expired", f"the {what} has expired; {hint}") from None
    except jwt.InvalidSignatureError:
        raise TokenError(
            "invalid_token", "the token's signature does not match this server's key"
        ) from None
    except jwt.InvalidTokenError as exc:
        raise TokenError("invalid_token", f"the token is not valid: {exc}") from None
    typ = claims.get("typ")
    if typ != expected:
        given = f"a {typ} token" if typ in ("access", "refresh") else "a token of no known type"
        raise TokenError("invalid_token", f"{given} was given where a {expected} token is needed")
    try:
        user_id = str(uuid.UUID(str(claims["sub"])))
    except ValueError:
        raise TokenError("invalid_token", "the token's subject is not a user id") from None
    return TokenClaims(
        user_id=user_id,
        name=str(claims.get("name", "")),
        is_admin=bool(claims.get("adm", False)),
        typ=expected,
        expires_at=int(claims["exp"]),
    )
