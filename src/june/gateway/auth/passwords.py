"""Password hashing with argon2id (argon2-cffi's defaults: 64 MiB, 3 passes, 4 lanes).

A hash is slow on purpose (tens of milliseconds), so the gateway runs it in a
worker thread. Checking the password of a user that does not exist hashes
against a fixed dummy, so a login's timing does not tell whether a name exists.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Shorter passwords are refused when an account is made.
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("june: no such user")


class WeakPasswordError(ValueError):
    pass


def check_strength(password: str) -> None:
    """Raise :class:`WeakPasswordError` saying why ``password`` is not acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters"
        )


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (PHC string with salt and parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (no such user) it spends the same time."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    return _hasher.check_needs_rehash(password_hash)
