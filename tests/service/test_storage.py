"""Object storage: local files, and S3 against a real S3-protocol server (moto) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from june.infra.ports import free_port
from june.storage import (
    InvalidObjectKeyError,
    LocalObjectStore,
    ObjectNotFoundError,
    ObjectStore,
    S3ObjectStore,
    open_object_store,
)
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return open_object_store(make_settings(tmp_path))
    endpoint = request.getfixturevalue("s3_endpoint")
    settings = make_settings(
        tmp_path,
        s3={
            "endpoint": endpoint,
            "bucket": f"june-{tmp_path.name[-8:].lower().replace('_', '-')}",
            "access_key": "test",
            "secret_key": "test",
        },
    )
    return open_object_store(settings)


def test_put_get_list_delete(store: ObjectStore) -> None:
    store.put("audio/c1/m1.ogg", b"OggS voice", "audio/ogg")
    store.put("audio/c1/m2.ogg", b"second")
    store.put("uploads/u1/doc.md", b"# notes")
    assert store.get("audio/c1/m1.ogg") == b"OggS voice"
    assert store.exists("audio/c1/m2.ogg")
    assert store.list("audio/") == ["audio/c1/m1.ogg", "audio/c1/m2.ogg"]
    store.put("audio/c1/m1.ogg", b"replaced")
    assert store.get("audio/c1/m1.ogg") == b"replaced"
    store.delete("audio/c1/m1.ogg")
    store.delete("audio/c1/m1.ogg")  # deleting twice is fine
    assert not store.exists("audio/c1/m1.ogg")
    with pytest.raises(ObjectNotFoundError):
        store.get("audio/c1/m1.ogg")


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../outside", "a//b", "a/./b", "a\\b"])
def test_keys_that_could_escape_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidObjectKeyError):
        store.put(key, b"x")


def test_local_store_lives_in_the_data_dir(tmp_path: Path) -> None:
    store = open_object_store(make_settings(tmp_path))
    assert isinstance(store, LocalObjectStore)
    store.put("a/b.bin", b"123")
    assert (tmp_path / "objects" / "a" / "b.bin").read_bytes() == b"123"
    assert not [p for p in (tmp_path / "objects" / "a").iterdir() if p.name.startswith(".tmp-")]


def test_s3_is_used_when_an_endpoint_is_set(tmp_path: Path, s3_endpoint: str) -> None:
    settings = make_settings(
        tmp_path, s3={"endpoint": s3_endpoint, "access_key": "k", "secret_key": "s"}
    )
    assert isinstance(open_object_store(settings), S3ObjectStore)
