"""The gateway serves the web app at ``/`` and tells the sign-in screen whether anyone can
sign in — in-process (FastAPI's test client) on a database of its own on the test
PostgreSQL, so "nobody yet" is really nobody."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from june.gateway.app import create_app
from june.gateway.auth.accounts import add_account
from june.gateway.webapp import CSP
from june.inference.documents.database import open_migrated_engine
from june.inference.documents.users import OWNER, get_or_create_user
from june.infra.postgres import EmbeddedPostgres, libpq_url
from tests.conftest import make_settings

INDEX = "<!doctype html><title>June</title><div id=root></div>"


@pytest.fixture
def fresh_database(postgres: EmbeddedPostgres) -> Iterator[str]:
    """The URL of a new, empty database on the test server (dropped afterwards)."""
    name = f"june_setup_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(postgres.url), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = make_url(postgres.url).set(database=name).render_as_string(hide_password=False)
    yield url
    with psycopg.connect(libpq_url(postgres.url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A built web app as Vite lays it out."""
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "assets" / "index-3f2a.js").write_text("console.log('june')")
    (folder / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the web")
    return folder


def _client(tmp_path: Path, **gateway: object) -> TestClient:
    return TestClient(create_app(make_settings(tmp_path / "data", gateway=gateway)))


def test_the_app_is_served_at_the_root_and_at_its_own_routes(tmp_path: Path, dist: Path) -> None:
    with _client(tmp_path, webapp_dir=dist) as client:
        for path in ("/", "/c/5f0c9a", "/settings"):
            page = client.get(path)
            assert page.status_code == 200 and page.text == INDEX, path
            assert page.headers["content-security-policy"] == CSP
            assert page.headers["cache-control"] == "no-cache"
        asset = client.get("/assets/index-3f2a.js")
        assert asset.text == "console.log('june')"
        assert "immutable" in asset.headers["cache-control"]  # hashed names never change
        assert client.get("/favicon.svg").text == "<svg/>"
        # nothing outside the build is reachable, however the path is written
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
            response = client.get(path)
            assert "not for the web" not in response.text, path


def test_the_api_keeps_its_own_errors(tmp_path: Path, dist: Path) -> None:
    with _client(tmp_path, webapp_dir=dist) as client:
        missing = client.get("/v1/no-such-thing")
        assert missing.status_code == 404
        assert missing.json()["error"] == {"code": "not_found", "message": "no such endpoint"}
        wrong_method = client.get("/v1/auth/login")
        assert wrong_method.status_code == 405
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/openapi.json").json()["info"]["title"] == "June"


def test_an_unbuilt_app_says_how_to_build_it(tmp_path: Path) -> None:
    with _client(tmp_path, webapp_dir=tmp_path / "nowhere") as client:
        page = client.get("/")
    assert page.status_code == 503
    assert "scripts/run.sh" in page.text and "npm ci" in page.text
    assert str(tmp_path / "nowhere") in page.text


def test_setup_says_whether_anyone_can_sign_in_yet(tmp_path: Path, fresh_database: str) -> None:
    engine = open_migrated_engine(fresh_database)
    try:
        app = create_app(make_settings(tmp_path / "data", database_url=fresh_database))
        with TestClient(app) as client:
            assert client.get("/v1/auth/setup").json() == {"has_users": False}
            get_or_create_user(engine, OWNER)  # the documents' local owner has no password
            assert client.get("/v1/auth/setup").json() == {"has_users": False}
            add_account(engine, "ada", "correct horse battery")
            assert client.get("/v1/auth/setup").json() == {"has_users": True}
            login = {"username": "ada", "password": "correct horse battery"}
            assert client.post("/v1/auth/login", json=login).status_code == 200
    finally:
        engine.dispose()
