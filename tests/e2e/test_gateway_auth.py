"""Authentication and rate limits of the gateway, for real.

Users and keys are made with the real ``june users`` / ``june keys`` commands,
requests go to the gateway processes of ``june_stack`` (real PostgreSQL, real
NATS). Rate limits are per-process settings, so the 429 tests start two more
gateways with a tiny limit on the same NATS and show that they share it. The
audio-seconds limit, which routes charge after decoding, is exercised through
:func:`june.gateway.auth.charge` in-process against the session's NATS.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from june.db.migrate import head_revision
from june.gateway.auth import Principal, charge
from june.gateway.auth.tokens import WeakSecretError, issue, secret_from_file, signing_key
from june.gateway.context import GatewayContext
from june.gateway.errors import ApiError
from june.gateway.ratelimit import BUCKET, seconds_left, window_of
from june.infra.nats import EmbeddedNats
from june.infra.ports import free_port
from june.infra.postgres import EmbeddedPostgres, libpq_url
from tests.conftest import make_settings
from tests.gateway_users import (
    PASSWORD,
    add_user,
    api_key,
    auth_header,
    june,
    login,
    user_token,
)
from tests.processes import Running, launch, wait_healthy
from tests.stack import Stack

KEY_PATTERN = re.compile(r"^june_[A-Za-z0-9_-]{43}$")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def me(base_url: str, token: str | None, **headers: str) -> httpx.Response:
    sent = dict(headers)
    if token is not None:
        sent.update(auth_header(token))
    return httpx.get(f"{base_url}/v1/auth/me", headers=sent, timeout=30)


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """The response is ``status`` with the one error shape and ``code``; its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


def assert_unauthorized(response: httpx.Response, code: str) -> str:
    message = assert_error(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Bearer"), response.headers
    return message


def stack_key(stack: Stack) -> bytes:
    """The stack's signing key: the file its gateway made in the data dir."""
    path = Path(stack.env["JUNE_DATA_DIR"]) / "gateway" / "jwt_secret"
    return path.read_text().strip().encode()


@pytest.fixture(scope="module")
def alice(june_stack: Stack) -> tuple[str, str]:
    """A user of this module: (name, access token)."""
    name = unique("alice")
    add_user(june_stack, name)
    return name, login(june_stack, name)


# --- logging in ------------------------------------------------------------------------


def test_login_gives_tokens_that_say_who_you_are(june_stack: Stack, alice) -> None:
    name, _ = alice
    response = httpx.post(
        f"{june_stack.base_url}/v1/auth/login",
        json={"username": name, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    pair = response.json()
    assert pair["token_type"] == "bearer" and pair["expires_in"] == 900
    assert pair["access_token"] != pair["refresh_token"]

    who = me(june_stack.base_url, pair["access_token"])
    assert who.status_code == 200, who.text
    body = who.json()
    assert body["name"] == name and body["via"] == "jwt" and body["is_admin"] is False
    uuid.UUID(body["id"])
    assert who.headers["x-request-id"]

    secret = Path(june_stack.env["JUNE_DATA_DIR"]) / "gateway" / "jwt_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_wrong_password_and_unknown_user_get_the_same_401(june_stack: Stack, alice) -> None:
    name, _ = alice
    url = f"{june_stack.base_url}/v1/auth/login"
    wrong = httpx.post(url, json={"username": name, "password": "not the password"}, timeout=30)
    nobody = httpx.post(url, json={"username": unique("nobody"), "password": PASSWORD}, timeout=30)
    assert assert_error(wrong, 401, "invalid_credentials") == assert_error(
        nobody, 401, "invalid_credentials"
    )
    assert wrong.json() == nobody.json()
    assert "password" in wrong.json()["error"]["message"]


def test_a_user_without_a_password_cannot_log_in_until_added(june_stack: Stack) -> None:
    """``june docs`` makes passwordless users; ``june users add`` turns one into an account."""
    from june.inference.documents.database import open_engine
    from june.inference.documents.users import get_or_create_user

    name = unique("docs-only")
    engine = open_engine(june_stack.env["JUNE_DATABASE_URL"])
    try:
        user_id = get_or_create_user(engine, name)
    finally:
        engine.dispose()
    url = f"{june_stack.base_url}/v1/auth/login"
    refused = httpx.post(url, json={"username": name, "password": PASSWORD}, timeout=30)
    assert_error(refused, 401, "invalid_credentials")

    add_user(june_stack, name)
    who = me(june_stack.base_url, login(june_stack, name)).json()
    assert who["id"] == str(user_id)  # the same user: their documents stay theirs


# --- refused tokens --------------------------------------------------------------------


def test_missing_token_says_how_to_authenticate(june_stack: Stack) -> None:
    message = assert_unauthorized(me(june_stack.base_url, None), "unauthorized")
    assert "Authorization: Bearer" in message and "/v1/auth/login" in message
    basic = me(june_stack.base_url, None, Authorization="Basic YWxpY2U6cHc=")
    assert "bearer" in assert_unauthorized(basic, "unauthorized")


def test_malformed_and_foreign_tokens_are_invalid(june_stack: Stack, alice) -> None:
    assert_unauthorized(me(june_stack.base_url, "not-a-jwt"), "invalid_token")
    assert_unauthorized(me(june_stack.base_url, "june_not-a-real-key"), "invalid_token")

    who = me(june_stack.base_url, alice[1]).json()
    foreign, _ = issue(b"x" * 48, "access", who["id"], who["name"], True, 600)
    message = assert_unauthorized(me(june_stack.base_url, foreign), "invalid_token")
    assert "signature" in message


def test_expired_token(june_stack: Stack, alice) -> None:
    who = me(june_stack.base_url, alice[1]).json()
    expired, _ = issue(stack_key(june_stack), "access", who["id"], who["name"], False, -60)
    message = assert_unauthorized(me(june_stack.base_url, expired), "token_expired")
    assert "expired" in message
    fresh, _ = issue(stack_key(june_stack), "access", who["id"], who["name"], False, 60)
    assert me(june_stack.base_url, fresh).status_code == 200


def test_refresh_flow_and_token_types_do_not_mix(june_stack: Stack, alice) -> None:
    name, _ = alice
    pair = httpx.post(
        f"{june_stack.base_url}/v1/auth/login",
        json={"username": name, "password": PASSWORD},
        timeout=30,
    ).json()

    # A refresh token is not an access token, nor the other way round.
    message = assert_unauthorized(me(june_stack.base_url, pair["refresh_token"]), "invalid_token")
    assert "refresh token" in message
    refresh_url = f"{june_stack.base_url}/v1/auth/refresh"
    wrong = httpx.post(refresh_url, json={"refresh_token": pair["access_token"]}, timeout=30)
    assert "access token" in assert_error(wrong, 401, "invalid_token")

    renewed = httpx.post(refresh_url, json={"refresh_token": pair["refresh_token"]}, timeout=30)
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()
    assert fresh["access_token"] != pair["access_token"]
    assert me(june_stack.base_url, fresh["access_token"]).json()["name"] == name
    again = httpx.post(refresh_url, json={"refresh_token": fresh["refresh_token"]}, timeout=30)
    assert again.status_code == 200

    who = me(june_stack.base_url, pair["access_token"]).json()
    expired, _ = issue(stack_key(june_stack), "refresh", who["id"], name, False, -1)
    late = httpx.post(refresh_url, json={"refresh_token": expired}, timeout=30)
    assert "log in again" in assert_error(late, 401, "token_expired")


def test_a_removed_user_cannot_refresh(june_stack: Stack) -> None:
    name = unique("leaver")
    add_user(june_stack, name)
    pair = httpx.post(
        f"{june_stack.base_url}/v1/auth/login",
        json={"username": name, "password": PASSWORD},
        timeout=30,
    ).json()
    result = june(june_stack, "users", "remove", name, "--yes")
    assert result.returncode == 0, result.stderr
    refused = httpx.post(
        f"{june_stack.base_url}/v1/auth/refresh",
        json={"refresh_token": pair["refresh_token"]},
        timeout=30,
    )
    assert "no longer exists" in assert_error(refused, 401, "invalid_token")
    gone = httpx.post(
        f"{june_stack.base_url}/v1/auth/login",
        json={"username": name, "password": PASSWORD},
        timeout=30,
    )
    assert_error(gone, 401, "invalid_credentials")


# --- API keys --------------------------------------------------------------------------


def test_keys_create_prints_only_the_key_and_it_authenticates(june_stack: Stack, alice) -> None:
    name, _ = alice
    result = june(june_stack, "keys", "create", "ci", "--user", name)
    assert result.returncode == 0, result.stderr
    assert KEY_PATTERN.match(result.stdout.rstrip("\n")), result.stdout
    assert result.stdout.count("\n") == 1
    key = result.stdout.strip()
    assert key not in result.stderr and "ci" in result.stderr

    who = me(june_stack.base_url, key)
    assert who.status_code == 200, who.text
    assert who.json()["name"] == name and who.json()["via"] == "api_key"

    listed = june(june_stack, "keys", "list", "--user", name, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    row = next(r for r in rows if r["name"] == "ci")
    assert key.startswith(row["prefix"]) and row["last_used_at"] is not None
    assert key not in listed.stdout

    again = june(june_stack, "keys", "create", "ci", "--user", name)
    assert again.returncode == 1 and "already exists" in again.stderr and again.stdout == ""


def test_a_revoked_key_is_refused_at_once(june_stack: Stack, alice) -> None:
    name, _ = alice
    key = api_key(june_stack, name, "to-revoke")
    assert me(june_stack.base_url, key).status_code == 200
    result = june(june_stack, "keys", "revoke", "to-revoke", "--user", name)
    assert result.returncode == 0, result.stderr
    message = assert_unauthorized(me(june_stack.base_url, key), "invalid_token")
    assert "revoked" in message
    # The name is free again.
    assert me(june_stack.base_url, api_key(june_stack, name, "to-revoke")).status_code == 200
    missing = june(june_stack, "keys", "revoke", "no-such-key", "--user", name)
    assert missing.returncode == 1 and "no live key" in missing.stderr


def test_keys_over_the_api(june_stack: Stack, alice) -> None:
    _, token = alice
    url = f"{june_stack.base_url}/v1/auth/keys"
    made = httpx.post(url, json={"name": "laptop"}, headers=auth_header(token), timeout=30)
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    assert KEY_PATTERN.match(key) and key.startswith(made.json()["prefix"])
    assert me(june_stack.base_url, key).json()["via"] == "api_key"

    listed = httpx.get(url, headers=auth_header(key), timeout=30)
    assert listed.status_code == 200
    assert key not in listed.text
    assert "laptop" in [k["name"] for k in listed.json()["keys"]]

    # An API key cannot make or revoke keys; a logged-in session can.
    refused = httpx.post(url, json={"name": "more"}, headers=auth_header(key), timeout=30)
    assert "logged-in session" in assert_error(refused, 403, "forbidden")
    duplicate = httpx.post(url, json={"name": "laptop"}, headers=auth_header(token), timeout=30)
    assert_error(duplicate, 409, "conflict")
    gone = httpx.delete(f"{url}/laptop", headers=auth_header(token), timeout=30)
    assert gone.status_code == 204
    assert_unauthorized(me(june_stack.base_url, key), "invalid_token")
    assert_error(
        httpx.delete(f"{url}/laptop", headers=auth_header(token), timeout=30), 404, "not_found"
    )


# --- the command line ------------------------------------------------------------------


def test_users_add_from_stdin_refuses_short_passwords_and_existing_names(
    june_stack: Stack,
) -> None:
    name = unique("carol")
    added = june(
        june_stack, "users", "add", name, "--admin", "--password-stdin", stdin="s3cret-pass\n"
    )
    assert added.returncode == 0, added.stderr
    assert f"added admin {name}" in added.stderr
    assert login(june_stack, name, "s3cret-pass")
    assert me(june_stack.base_url, login(june_stack, name, "s3cret-pass")).json()["is_admin"]

    exists = june(june_stack, "users", "add", name, "--password-stdin", stdin="another-pass\n")
    assert exists.returncode == 1 and "already exists" in exists.stderr

    # The hidden prompt (no terminal here, so it reads stdin): typed twice, and too short.
    short = june(june_stack, "users", "add", unique("dave"), stdin="short\nshort\n")
    assert short.returncode == 1
    assert "too short: at least 8 characters" in short.stderr
    short_stdin = june(
        june_stack, "users", "add", unique("dave"), "--password-stdin", stdin="7chars!\n"
    )
    assert short_stdin.returncode == 1 and "too short" in short_stdin.stderr
    prompted = unique("erin")
    ok = june(june_stack, "users", "add", prompted, stdin="long enough\nlong enough\n")
    assert ok.returncode == 0, ok.stderr
    assert login(june_stack, prompted, "long enough")

    listed = june(june_stack, "users", "list", "--json")
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[name]["is_admin"] and rows[name]["can_log_in"]
    assert not rows[prompted]["is_admin"]
    plain = june(june_stack, "users", "list")
    assert name in plain.stdout and "admin" in plain.stdout

    missing = june(june_stack, "users", "remove", unique("nobody"), "--yes")
    assert missing.returncode == 1 and "no user named" in missing.stderr


@pytest.fixture
def fresh_database(postgres: EmbeddedPostgres) -> Iterator[str]:
    """An empty database of its own on the session's server (who the admins are matters)."""
    name = f"keys_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq_url(postgres.url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(postgres.url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(libpq_url(postgres.url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_keys_create_defaults_to_the_only_admin(
    june_stack: Stack, fresh_database: str, tmp_path: Path
) -> None:
    local = Stack({**june_stack.env, "JUNE_DATABASE_URL": fresh_database}, tmp_path)
    none = june(local, "keys", "create", "ci")
    assert none.returncode == 1 and "no admin" in none.stderr and none.stdout == ""

    add_user(local, "root", admin=True)
    add_user(local, "someone")
    made = june(local, "keys", "create", "ci")
    assert made.returncode == 0, made.stderr
    assert KEY_PATTERN.match(made.stdout.strip()) and "for root" in made.stderr

    add_user(local, "root2", admin=True)
    several = june(local, "keys", "create", "ci2")
    assert several.returncode == 1 and "--user" in several.stderr

    listed = json.loads(june(local, "keys", "list", "--json").stdout)
    assert [(k["user"], k["name"], k["revoked"]) for k in listed] == [("root", "ci", False)]

    # The table is the model's, and the migration is at head.
    engine = create_engine(fresh_database)
    try:
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("api_keys")}
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        engine.dispose()
    assert columns == {
        "id",
        "user_id",
        "name",
        "prefix",
        "key_hash",
        "created_at",
        "last_used_at",
        "revoked",
    }
    assert version == head_revision()


def test_database_down_is_a_clear_cli_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUNE_")}
    env.update(
        JUNE_DATA_DIR=str(tmp_path / "data"),
        JUNE_DATABASE_URL=f"postgresql://june:pw@127.0.0.1:{free_port()}/june",
    )
    result = subprocess.run(
        [sys.executable, "-m", "june", "users", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "PostgreSQL is unavailable" in result.stderr and "Traceback" not in result.stderr


# --- signing keys ----------------------------------------------------------------------


def test_the_secret_file_is_made_once_even_by_racing_processes(tmp_path: Path) -> None:
    path = tmp_path / "gateway" / "jwt_secret"
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def make() -> None:
        start.wait()
        keys.append(secret_from_file(path))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["jwt_secret"]  # no temporary files left


def test_a_short_configured_secret_is_refused_without_showing_it(tmp_path: Path) -> None:
    from june.gateway.app import create_app

    settings = make_settings(tmp_path, gateway={"jwt_secret": "hunter2-hunter2"})
    with pytest.raises(WeakSecretError) as refused:
        create_app(settings)
    assert "JUNE_GATEWAY_JWT_SECRET" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    good = make_settings(tmp_path, gateway={"jwt_secret": "k" * 40})
    assert signing_key(good) == b"k" * 40
    assert "k" * 40 not in repr(good)


# --- rate limits -----------------------------------------------------------------------


def start_of_a_window(margin_s: float = 12.0) -> None:
    """Wait for the next minute if this one ends within ``margin_s`` (fixed windows)."""
    left = seconds_left(time.time())
    if left < margin_s:
        time.sleep(left + 0.2)


@contextmanager
def gateway(stack: Stack, tmp_path: Path, name: str, **env: str) -> Iterator[Running]:
    """One more gateway process beside the stack's: same database, NATS and data dir."""
    folder = tmp_path / name
    folder.mkdir()
    settings = {**stack.env, "JUNE_GATEWAY_PORT": str(free_port()), **env}
    running = launch("gateway", settings, folder)
    try:
        wait_healthy(running)
        yield running
    finally:
        if running.proc.poll() is None:
            running.stop()


def test_request_limit_is_per_user_and_shared_by_gateways(
    june_stack: Stack, tmp_path: Path
) -> None:
    name, other = unique("busy"), unique("calm")
    token, other_token = user_token(june_stack, name), user_token(june_stack, other)
    small = {"JUNE_GATEWAY_RATE_LIMIT_REQUESTS_PER_MINUTE": "3"}
    with (
        gateway(june_stack, tmp_path, "a", **small) as a,
        gateway(june_stack, tmp_path, "b", **small) as b,
    ):
        start_of_a_window()
        # Three requests, spread over both gateways: one limit.
        assert me(a.base_url, token).status_code == 200
        assert me(b.base_url, token).status_code == 200
        assert me(a.base_url, token).status_code == 200
        for url in (b.base_url, a.base_url):
            refused = me(url, token)
            message = assert_error(refused, 429, "rate_limited")
            assert "3 requests per minute" in message
            retry = int(refused.headers["retry-after"])
            assert 1 <= retry <= 60
        # Another user is not held back, and the stack's own gateway keeps its big limit.
        assert me(a.base_url, other_token).status_code == 200
        assert me(june_stack.base_url, token).status_code == 200


@pytest.fixture
async def nats_context(
    nats_server: EmbeddedNats, tmp_path: Path
) -> AsyncIterator[tuple[GatewayContext, GatewayContext]]:
    """Two gateway contexts (two NATS connections) with small limits, as two gateways."""
    settings = make_settings(
        tmp_path,
        nats_url=nats_server.url,
        gateway={"rate_limit_requests_per_minute": 1000, "rate_limit_audio_s_per_minute": 10},
    )
    one, two = GatewayContext.from_settings(settings), GatewayContext.from_settings(settings)
    yield one, two
    await one.close()
    await two.close()


def principal(name: str) -> Principal:
    return Principal(str(uuid.uuid4()), name, False, "jwt")


async def test_audio_limit_refuses_the_next_request(nats_context) -> None:
    ctx, _ = nats_context
    greedy, modest = principal("greedy"), principal("modest")
    await asyncio.to_thread(start_of_a_window)

    await charge(ctx, greedy, requests=1)
    await charge(ctx, greedy, audio_s=6.0)
    await charge(ctx, greedy, requests=1)  # 6 s of 10: still fine
    await charge(ctx, greedy, audio_s=6.5)  # charged after the fact: never refused itself
    with pytest.raises(ApiError) as refused:
        await charge(ctx, greedy, requests=1)
    error = refused.value
    assert error.status == 429 and error.code == "rate_limited"
    assert "10 s of audio per minute" in error.message
    assert 1 <= int(error.headers["Retry-After"]) <= 60
    await charge(ctx, modest, requests=1)  # per user

    nc = await ctx.nats()
    kv = await nc.jetstream().key_value(BUCKET)
    entry = await kv.get(f"{greedy.user_id}.{window_of(time.time())}.audio_ms")
    assert int(entry.value) == 12_500


async def test_concurrent_charges_from_two_gateways_lose_no_count(nats_context) -> None:
    one, two = nats_context
    user = principal("popular")
    await asyncio.to_thread(start_of_a_window)
    await asyncio.gather(
        *(charge(ctx, user, requests=1) for ctx in [one, two] * 15),
    )
    nc = await one.nats()
    kv = await nc.jetstream().key_value(BUCKET)
    entry = await kv.get(f"{user.user_id}.{window_of(time.time())}.requests")
    assert int(entry.value) == 30


async def test_nats_down_lets_requests_through(tmp_path: Path) -> None:
    """Fail open: a NATS outage must not take the API down (see june.gateway.ratelimit)."""
    settings = make_settings(
        tmp_path,
        nats_url=f"nats://127.0.0.1:{free_port()}",
        gateway={"rate_limit_requests_per_minute": 1},
    )
    ctx = GatewayContext.from_settings(settings)
    tries = 0  # how often the limiter asked for the NATS connection
    connect = ctx.nats

    async def counted() -> object:
        nonlocal tries
        tries += 1
        return await connect()

    ctx.nats = counted  # type: ignore[method-assign]
    try:
        user = principal("offline")
        for _ in range(5):
            await charge(ctx, user, requests=1)  # over the limit of 1, but nothing counts
        # NATS was tried once; the next requests did not each wait for a connection
        # timeout, they went straight through while NATS is known to be down.
        assert tries == 1
    finally:
        await ctx.close()
