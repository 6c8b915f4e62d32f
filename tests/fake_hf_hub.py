"""A tiny Hugging Face Hub on 127.0.0.1, enough for ``huggingface_hub.hf_hub_download``.

It speaks the part of the real protocol that a file download uses:
``HEAD`` and ``GET`` on ``/{repo_id}/resolve/{revision}/{filename}``, answered
with the headers ``huggingface_hub.file_download.get_hf_file_metadata`` reads
(``X-Repo-Commit``, ``ETag`` — the SHA-256 for LFS files, as on the Hub —
``X-Linked-Size``/``Content-Length``) and the ``X-Error-Code`` values it maps
to RepositoryNotFound / RevisionNotFound / EntryNotFound. ``Range`` requests
(resumed downloads) get a 206.

Every request is recorded in :attr:`FakeHub.requests`, so a test can prove
that something did *not* reach the network.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import unquote, urlsplit


@dataclass
class FakeRepo:
    """A model repository at one commit: file name -> bytes."""

    commit: str
    files: dict[str, bytes]
    #: Other revision names (branches, tags) that resolve to ``commit``.
    refs: tuple[str, ...] = ("main",)


@dataclass
class FakeHub:
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:
                hub._answer(self, send_body=False)

            def do_GET(self) -> None:
                hub._answer(self, send_body=True)

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the hub first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- protocol ------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler, send_body: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        self.requests.append((handler.command, path))
        repo_id, revision, filename = _split_resolve(path)
        repo = self.repos.get(repo_id or "")
        if repo is None:
            return _error(handler, 404, "RepositoryNotFound", "Repository not found")
        if revision not in (repo.commit, *repo.refs):
            return _error(handler, 404, "RevisionNotFound", "Invalid rev id")
        body = repo.files.get(filename or "")
        if body is None:
            return _error(handler, 404, "EntryNotFound", "Entry not found", repo.commit)
        start, end, status = 0, len(body) - 1, 200
        wanted = handler.headers.get("Range")
        if wanted and wanted.startswith("bytes=") and body:
            first, _, last = wanted[len("bytes=") :].partition("-")
            start = int(first or 0)
            end = min(int(last), len(body) - 1) if last else len(body) - 1
            status = 206
        chunk = body[start : end + 1]
        handler.send_response(status)
        handler.send_header("X-Repo-Commit", repo.commit)
        handler.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
        handler.send_header("X-Linked-Size", str(len(body)))
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(chunk)))
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        handler.end_headers()
        if send_body:
            handler.wfile.write(chunk)


def _split_resolve(path: str) -> tuple[str | None, str | None, str | None]:
    """``/org/name/resolve/rev/a/b.bin`` -> (``org/name``, ``rev``, ``a/b.bin``)."""
    parts = path.strip("/").split("/")
    if len(parts) < 5 or parts[2] != "resolve":
        return None, None, None
    return f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:])


def _error(
    handler: BaseHTTPRequestHandler, status: int, code: str, message: str, commit: str = ""
) -> None:
    body = f'{{"error": "{message}"}}'.encode()
    handler.send_response(status)
    handler.send_header("X-Error-Code", code)
    handler.send_header("X-Error-Message", message)
    if commit:
        handler.send_header("X-Repo-Commit", commit)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
