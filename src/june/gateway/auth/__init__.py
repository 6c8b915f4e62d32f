"""Authentication and per-user limits of the gateway.

The contract every route codes against:

- :class:`Principal` — who is calling (``user_id``, ``name``, ``is_admin``, ``via``).
- :func:`current_principal` — FastAPI dependency; 401 ``unauthorized`` /
  ``invalid_token`` / ``token_expired`` with ``WWW-Authenticate: Bearer``.
- :func:`rate_limited` — the same, and one request charged (429 ``rate_limited``).
- :func:`authenticate` — a raw token (the WebSocket route's ``token``).
- :func:`charge` — count requests / audio seconds (see :mod:`june.gateway.ratelimit`).

Passwords are argon2id (:mod:`.passwords`), sessions are JWT access and refresh
tokens (:mod:`.tokens`), scripts use API keys stored as SHA-256
(:mod:`.accounts`, shared with ``june users`` / ``june keys``).
"""

from june.gateway.auth.principal import (
    Principal,
    authenticate,
    current_principal,
    rate_limited,
)
from june.gateway.ratelimit import charge

__all__ = ["Principal", "authenticate", "charge", "current_principal", "rate_limited"]
