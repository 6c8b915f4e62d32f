"""The few REST calls a voice client needs: is the gateway up, log in, read a conversation.

Everything else a client does goes over the realtime socket
(:mod:`june.client.realtime`); these exist so that a command can say "the
gateway is down" before it tries, and turn a user name and password into the
access token the socket wants.
"""

from __future__ import annotations

from typing import Any

import httpx

from june.client.errors import ClientError, GatewayUnavailable, Unauthorized

#: A health check is a local round trip; a gateway slower than this to say "ok" is not usable.
HEALTH_TIMEOUT_S = 3.0


def base_url(url: str) -> str:
    """``http(s)://host:port`` from what a user typed (``ws://`` and a trailing ``/`` allowed)."""
    url = url.strip().rstrip("/")
    if url.startswith("ws://"):
        url = "http://" + url[5:]
    elif url.startswith("wss://"):
        url = "https://" + url[6:]
    elif "://" not in url:
        url = "http://" + url
    return url


async def is_up(url: str, timeout: float = HEALTH_TIMEOUT_S) -> bool:
    """Whether a June gateway answers ``GET /health`` at ``url``."""
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
            response = await http.get(f"{base_url(url)}/health")
    except httpx.HTTPError:
        return False
    if response.status_code != 200:
        return False
    try:
        return response.json().get("service") == "gateway"
    except ValueError:
        return False


async def login(url: str, user: str, password: str) -> str:
    """``POST /v1/auth/login``: the access token; :class:`Unauthorized` on a bad password."""
    try:
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            response = await http.post(
                f"{base_url(url)}/v1/auth/login", json={"username": user, "password": password}
            )
    except httpx.HTTPError as exc:
        raise GatewayUnavailable(base_url(url), str(exc)) from None
    if response.status_code == 401:
        raise Unauthorized(f"the gateway refused the login of {user!r}: wrong name or password")
    if response.status_code != 200:
        raise ClientError(f"login failed: HTTP {response.status_code}: {_message(response)}")
    return str(response.json()["access_token"])


async def conversation(url: str, token: str, conversation_id: str) -> dict[str, Any]:
    """``GET /v1/conversations/{id}``: the conversation with its last messages."""
    try:
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            response = await http.get(
                f"{base_url(url)}/v1/conversations/{conversation_id}",
                headers={"Authorization": f"Bearer {token}"},
            )
    except httpx.HTTPError as exc:
        raise GatewayUnavailable(base_url(url), str(exc)) from None
    if response.status_code == 401:
        raise Unauthorized(f"the gateway refused the token: {_message(response)}")
    if response.status_code != 200:
        raise ClientError(f"HTTP {response.status_code}: {_message(response)}")
    body: dict[str, Any] = response.json()
    return body


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def local_gateway_url(host: str, port: int) -> str:
    """``http://HOST:PORT`` of the configured gateway (a wildcard bind is reached on loopback)."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"
