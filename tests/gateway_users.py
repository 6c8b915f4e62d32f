"""Accounts for tests against the running June (``june_stack``): add users, log in, make keys.

Users and keys are made with the real command line (``june users add
--password-stdin``, ``june keys create``) in the stack's environment, so the
tests go through the same path an operator does. Tokens are cached per user
name for the session: an access token lives 15 minutes, longer than the suite
needs one for.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from tests.stack import Stack

PASSWORD = "correct horse battery"

#: (gateway URL, user name) → access token.
_tokens: dict[tuple[str, str], str] = {}


def june(
    stack: Stack, *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m june ARGS`` in the stack's environment (its database, its data dir).

    A new session, so no controlling terminal: a password prompt reads stdin.
    """
    return subprocess.run(
        [sys.executable, "-m", "june", *args],
        env=stack.env,
        cwd=stack.tmp,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def add_user(stack: Stack, name: str, password: str = PASSWORD, admin: bool = False) -> None:
    """``june users add NAME --password-stdin`` (``--admin``); fails the test if refused."""
    args = ["users", "add", name, "--password-stdin", *(["--admin"] if admin else [])]
    result = june(stack, *args, stdin=password + "\n")
    assert result.returncode == 0, f"june users add {name}: {result.stderr}"


def login(stack: Stack, name: str, password: str = PASSWORD) -> str:
    """``POST /v1/auth/login``: the access token."""
    response = httpx.post(
        f"{stack.base_url}/v1/auth/login",
        json={"username": name, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def user_token(stack: Stack, name: str) -> str:
    """An access token for ``name`` (added with the default password if absent); cached."""
    cached = _tokens.get((stack.base_url, name))
    if cached is not None:
        return cached
    result = june(stack, "users", "list", "--json")
    assert result.returncode == 0, result.stderr
    if not any(row["name"] == name and row["can_log_in"] for row in json.loads(result.stdout)):
        add_user(stack, name)
    token = _tokens[(stack.base_url, name)] = login(stack, name)
    return token


def api_key(stack: Stack, user: str, key_name: str) -> str:
    """``june keys create KEY_NAME --user USER``: the new key (USER must exist)."""
    result = june(stack, "keys", "create", key_name, "--user", user)
    assert result.returncode == 0, f"june keys create {key_name}: {result.stderr}"
    return result.stdout.strip()


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
