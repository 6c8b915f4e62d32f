"""Per-user rate limits shared by every gateway instance, in NATS JetStream key-value.

Two limits, each over fixed one-minute windows (wall-clock minutes, so every
gateway agrees on the window without talking to the others):

- ``JUNE_GATEWAY_RATE_LIMIT_REQUESTS_PER_MINUTE`` (default 120): requests.
- ``JUNE_GATEWAY_RATE_LIMIT_AUDIO_S_PER_MINUTE`` (default 600): seconds of audio.

0 switches a limit off. The counters are keys ``<user_id>.<window>.requests``
and ``<user_id>.<window>.audio_ms`` in the bucket :data:`BUCKET`, created on
first use with a two-minute TTL, so old windows vanish by themselves. An
increment is a compare-and-set on the key's revision, retried on conflict, so
two gateways counting at once never lose a count.

Audio is charged after the fact: its duration is known only once it has been
decoded, and refusing audio that has already been transcribed would waste the
work. So a charge of audio seconds never fails by itself; a user who has gone
over the audio limit is refused (429) on their *next* request, until the
window ends. One upload can therefore go past the limit, by at most its own
length.

NATS down: the limiter fails **open**. Limits protect the models from one
greedy user; they are not a security boundary (authentication is), and a NATS
outage should not take the whole API down with it. Requests are let through,
a warning is logged (at most every :data:`WARN_EVERY_S` seconds), and NATS is
not asked again for :data:`RETRY_AFTER_FAILURE_S` seconds, so requests do not
each wait for a connection timeout during the outage.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import weakref
from typing import TYPE_CHECKING

import structlog
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError

from june.gateway.errors import ApiError

if TYPE_CHECKING:
    from nats.aio.client import Client as Nats
    from nats.js.kv import KeyValue

    from june.gateway.auth import Principal
    from june.gateway.context import GatewayContext

log = structlog.get_logger(__name__)

BUCKET = "june_rate_limits"
WINDOW_S = 60
#: Counters outlive their window by a minute, then NATS drops them.
BUCKET_TTL_S = 2 * WINDOW_S
#: Compare-and-set attempts before an increment gives up (only under heavy contention);
#: after a conflict an attempt waits a random few milliseconds, longer each time, so that
#: the writers that collided spread out instead of colliding again.
MAX_ATTEMPTS = 30
BACKOFF_S = 0.002
#: Seconds one NATS operation may take before the limiter treats NATS as down.
NATS_TIMEOUT_S = 2.0
RETRY_AFTER_FAILURE_S = 5.0
WARN_EVERY_S = 30.0

#: The bucket handle of each NATS connection.
_buckets: weakref.WeakKeyDictionary[Nats, KeyValue] = weakref.WeakKeyDictionary()
#: Per NATS URL: until when (monotonic) the limiter does not try NATS, and the last warning.
_down_until: dict[str, float] = {}
_warned_at: dict[str, float] = {}


class _Contended(Exception):
    pass


def window_of(now: float) -> int:
    """The number of the one-minute window that ``now`` (Unix seconds) falls in."""
    return int(now // WINDOW_S)


def seconds_left(now: float) -> int:
    """Whole seconds until the window of ``now`` ends (at least 1): the ``Retry-After``."""
    return max(1, math.ceil((window_of(now) + 1) * WINDOW_S - now))


async def charge(
    context: GatewayContext, principal: Principal, requests: int = 0, audio_s: float = 0.0
) -> None:
    """Count ``requests`` and ``audio_s`` against the principal's limits for this minute.

    Raises :class:`ApiError` 429 ``rate_limited`` with ``Retry-After`` (seconds
    until the window ends) when charging ``requests`` takes the user past the
    request limit, or when the user has already used up the audio limit of this
    window. Charging audio alone never raises: see the module docstring.
    """
    settings = context.settings.gateway
    request_limit = settings.rate_limit_requests_per_minute if requests > 0 else 0
    audio_limit = settings.rate_limit_audio_s_per_minute
    checks_audio = requests > 0 and audio_limit > 0
    adds_audio = audio_s > 0 and audio_limit > 0
    if request_limit <= 0 and not checks_audio and not adds_audio:
        return

    from june.infra.nats import nats_url

    url = nats_url(context.settings)
    if time.monotonic() < _down_until.get(url, 0.0):
        return
    now = time.time()
    prefix = f"{principal.user_id}.{window_of(now)}"
    try:
        kv = await _bucket(await context.nats())
        async with asyncio.timeout(NATS_TIMEOUT_S):
            if checks_audio:
                used_ms = await _read(kv, f"{prefix}.audio_ms")
                if used_ms >= audio_limit * 1000:
                    raise _refusal(f"{_amount(audio_limit)} s of audio per minute", now)
            if request_limit > 0:
                count = await _add(kv, f"{prefix}.requests", requests)
                if count > request_limit:
                    raise _refusal(f"{request_limit} requests per minute", now)
            if adds_audio:
                await _add(kv, f"{prefix}.audio_ms", round(audio_s * 1000))
    except ApiError as exc:
        if exc.status == 429:
            raise
        _fail_open(url, exc.message)
    except _Contended as exc:  # NATS is up but the key is hot: let this one through
        log.warning("gateway.rate_limit_contended", reason=str(exc))
    except Exception as exc:  # NATS errors come in many unrelated types; all mean "down"
        _fail_open(url, str(exc) or type(exc).__name__)


def _amount(value: float) -> str:
    return f"{value:g}"


def _refusal(limit: str, now: float) -> ApiError:
    wait = seconds_left(now)
    return ApiError(
        429,
        "rate_limited",
        f"rate limit reached: {limit}; try again in {wait} s",
        headers={"Retry-After": str(wait)},
    )


def _fail_open(url: str, reason: str) -> None:
    now = time.monotonic()
    _down_until[url] = now + RETRY_AFTER_FAILURE_S
    if now - _warned_at.get(url, -math.inf) >= WARN_EVERY_S:
        _warned_at[url] = now
        log.warning("gateway.rate_limits_not_enforced", nats=url, reason=reason)


async def _bucket(nc: Nats) -> KeyValue:
    """The counters' bucket on this connection, created when missing."""
    kv = _buckets.get(nc)
    if kv is not None:
        return kv
    js = nc.jetstream(timeout=NATS_TIMEOUT_S)
    async with asyncio.timeout(NATS_TIMEOUT_S * 2):
        try:
            kv = await js.key_value(BUCKET)
        except BucketNotFoundError:
            config = KeyValueConfig(
                bucket=BUCKET,
                description="June gateway: per-user request and audio counters, per minute",
                history=1,
                ttl=BUCKET_TTL_S,
            )
            try:
                kv = await js.create_key_value(config)
            except Exception:  # another gateway made it first, with other options
                kv = await js.key_value(BUCKET)
    _buckets[nc] = kv
    return kv


async def _read(kv: KeyValue, key: str) -> int:
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return 0
    return int(entry.value or b"0")


async def _add(kv: KeyValue, key: str, amount: int) -> int:
    """Add ``amount`` to the counter ``key`` by compare-and-set; the new total."""
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            await asyncio.sleep(random.uniform(0, BACKOFF_S * attempt))
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            try:
                await kv.create(key, str(amount).encode())
                return amount
            except KeyWrongLastSequenceError:
                continue  # another gateway created it first
        total = int(entry.value or b"0") + amount
        try:
            await kv.update(key, str(total).encode(), last=entry.revision)
            return total
        except KeyWrongLastSequenceError:
            continue  # another gateway counted in between: read again
    raise _Contended(f"the counter {key} changed {MAX_ATTEMPTS} times while being updated")
