"""What guards every route: CORS, the request-size limit, one error shape, authentication.

Against real gateway processes: the stack's (default settings) and one more
with a small body limit and a development origin for the web app. The last
test walks the routes of the app as built *now*, so a route someone adds
later without authentication fails it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant

from june.gateway.app import create_app
from june.gateway.auth import current_principal, rate_limited
from june.infra.ports import free_port
from tests.conftest import make_settings
from tests.gateway_users import auth_header, user_token
from tests.processes import Running, launch, wait_healthy
from tests.stack import Stack

DEV_ORIGIN = "http://localhost:5173"
LIMIT = 64 * 1024

#: Routes anyone may call: operations, the API's own description, and getting a token.
#: ``/v1/auth/setup`` says only whether anyone can sign in yet; ``/{path}`` is the web
#: app's files (the sign-in screen must load without a token).
PUBLIC = {
    "/health",
    "/openapi.json",
    "/redoc",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/auth/setup",
    "/{path}",
}


@pytest.fixture(scope="module")
def guarded(june_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A gateway beside the stack's with a 64 KiB body limit and a dev server's origin."""
    folder = tmp_path_factory.mktemp("guarded-gateway")
    env = {
        **june_stack.env,
        "JUNE_GATEWAY_PORT": str(free_port()),
        "JUNE_GATEWAY_MAX_REQUEST_BYTES": str(LIMIT),
        "JUNE_GATEWAY_CORS_ORIGINS": f'["{DEV_ORIGIN}/"]',
    }
    running = launch("gateway", env, folder)
    wait_healthy(running)
    yield running
    if running.proc.poll() is None:
        running.stop()


def preflight(base_url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{base_url}/v1/auth/me",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=30,
    )


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


# --- CORS ------------------------------------------------------------------------------


def test_cors_allows_the_configured_origin_only(guarded: Running) -> None:
    allowed = preflight(guarded.base_url, DEV_ORIGIN)
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == DEV_ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers

    other = preflight(guarded.base_url, "https://evil.example")
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers

    # A simple request from the allowed origin can read the answer (and the request id) …
    answer = httpx.get(f"{guarded.base_url}/health", headers={"Origin": DEV_ORIGIN}, timeout=30)
    assert answer.headers["access-control-allow-origin"] == DEV_ORIGIN
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
    # … and one from elsewhere gets no CORS header, so a browser hides the answer.
    foreign = httpx.get(f"{guarded.base_url}/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in foreign.headers


def test_cors_defaults_to_the_gateways_own_address(june_stack: Stack) -> None:
    own = f"http://127.0.0.1:{june_stack.env['JUNE_GATEWAY_PORT']}"
    assert preflight(june_stack.base_url, own).headers["access-control-allow-origin"] == own
    assert preflight(june_stack.base_url, DEV_ORIGIN).status_code == 400


# --- request size ----------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_by_its_length(guarded: Running) -> None:
    url = f"{guarded.base_url}/v1/auth/login"
    with httpx.Client(timeout=30) as client:
        refused = client.post(
            url, content=b"x" * (LIMIT + 1), headers={"Content-Type": "audio/wav"}
        )
        message = assert_error(refused, 413, "request_too_large")
        assert str(LIMIT) in message and "JUNE_GATEWAY_MAX_REQUEST_BYTES" in message
        assert refused.headers["x-request-id"]
        # The next request (on a new connection: that one was closed) is served as usual.
        after = client.post(url, json={"username": "nobody", "password": "whatever-pw"})
        assert_error(after, 401, "invalid_credentials")


def test_a_chunked_body_is_cut_off_at_the_limit(guarded: Running) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(64):  # 1 MiB in all, with no Content-Length
            yield b"y" * (16 * 1024)

    url = f"{guarded.base_url}/v1/auth/login"
    with httpx.Client(timeout=30) as client:
        refused = client.post(url, content=body(), headers={"Content-Type": "application/json"})
        assert refused.request.headers["transfer-encoding"] == "chunked"
        assert_error(refused, 413, "request_too_large")
        after = client.get(f"{guarded.base_url}/health")
        assert after.status_code == 200


def test_a_body_under_the_limit_is_served(guarded: Running) -> None:
    padding = "p" * (LIMIT - 1000)
    response = httpx.post(
        f"{guarded.base_url}/v1/auth/login",
        json={"username": "nobody", "password": padding[:1000]},
        timeout=30,
    )
    assert_error(response, 401, "invalid_credentials")
    chunked = httpx.post(
        f"{guarded.base_url}/v1/auth/login",
        content=iter([b'{"username": "nobody", ', b'"password": "whatever-pw"}']),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert_error(chunked, 401, "invalid_credentials")


# --- one error shape -------------------------------------------------------------------


def test_validation_errors_are_400_in_the_error_shape(june_stack: Stack) -> None:
    url = f"{june_stack.base_url}/v1/auth/login"
    missing = httpx.post(url, json={"username": "someone"}, timeout=30)
    assert "password" in assert_error(missing, 400, "invalid_request")
    not_json = httpx.post(
        url, content=b"{not json", headers={"Content-Type": "application/json"}, timeout=30
    )
    assert_error(not_json, 400, "invalid_request")
    token = user_token(june_stack, f"shape-{uuid.uuid4().hex[:6]}")
    empty_name = httpx.post(
        f"{june_stack.base_url}/v1/auth/keys", json={"name": ""}, headers=auth_header(token)
    )
    assert "name" in assert_error(empty_name, 400, "invalid_request")
    assert_error(httpx.get(f"{june_stack.base_url}/v1/no-such-thing", timeout=30), 404, "not_found")


# --- every route needs a token ---------------------------------------------------------


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def http_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every HTTP route of the app, with the routers it includes expanded.

    FastAPI before 0.160 lists included routes as ``APIRoute``; later versions
    keep each included router as one entry whose ``effective_candidates()``
    are the routes as mounted (path with prefix, methods, dependant).
    """
    for route in routes:
        if hasattr(route, "effective_candidates"):
            yield from http_routes(route.effective_candidates())
        elif getattr(route, "methods", None) and hasattr(route, "path_format"):
            yield route


def _public(path: str) -> bool:
    return path in PUBLIC or path == "/docs" or path.startswith("/docs/")


def test_every_route_but_the_public_ones_requires_a_token(
    june_stack: Stack, tmp_path: Path
) -> None:
    """Each HTTP route declares the auth dependency, and over HTTP answers 401 without a token.

    The routes come from the app as built now, so routes added later are
    checked too. (The WebSocket route authenticates its ``token`` itself, with
    :func:`june.gateway.auth.authenticate`, and is tested with it.)
    """
    app = create_app(make_settings(tmp_path))
    routes = [r for r in http_routes(app.routes) if not _public(r.path_format)]
    assert {"/v1/auth/me", "/v1/auth/keys"} <= {r.path_format for r in routes}

    unguarded = [
        f"{sorted(r.methods)} {r.path_format}"
        for r in routes
        if r.dependant is None or not {current_principal, rate_limited} & set(_calls(r.dependant))
    ]
    assert unguarded == [], f"routes without the auth dependency: {unguarded}"

    with httpx.Client(base_url=june_stack.base_url, timeout=30) as client:
        for route in routes:
            path = route.path_format
            for name in route.param_convertors:
                path = path.replace(f"{{{name}}}", str(uuid.uuid4()))
            for method in sorted(route.methods - {"HEAD"}):
                response = client.request(method, path, json={})
                where = f"{method} {route.path_format}"
                assert response.status_code == 401, f"{where}: {response.text}"
                assert response.json()["error"]["code"] == "unauthorized", where
                assert response.headers["www-authenticate"].startswith("Bearer"), where
