"""The web app (``webapp/``, built by Vite into ``webapp/dist``), served at ``/``.

Same origin as the API, so the app needs no CORS and its WebSocket the same
host. Files of the build are served as they are (``/assets/*`` carry a content
hash in their names, so they may be cached for good); any other GET that is
not the API's is the app's own route (``/c/<id>``) and gets ``index.html``,
where the app's router takes over. The API's paths never fall through to the
app: an unknown ``/v1/...`` stays a JSON 404.

The app renders every stored string as text; a Content-Security-Policy that
allows scripts from this origin only is the second line of defence.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

import june
from june.settings import Settings

#: Paths that belong to the API (or to FastAPI's own pages), never to the app.
API_PREFIXES = ("/v1/", "/v1", "/health", "/metrics", "/docs", "/redoc", "/openapi.json")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>June</title></head>
<body><h1>June's web app is not built</h1>
<p>The API is running. To build the web app, run <code>scripts/run.sh</code> from the
repository (it builds <code>webapp/</code> when its sources change), or
<code>npm ci &amp;&amp; npm run build</code> in <code>webapp/</code>.</p>
<p>Looked for: <code>{where}</code></p></body></html>
"""


def default_dist() -> Path:
    """``webapp/dist`` of the checkout this package runs from."""
    return Path(june.__file__).resolve().parents[2] / "webapp" / "dist"


def dist_dir(settings: Settings) -> Path:
    return settings.gateway.webapp_dir or default_dist()


class _AppRoute(Route):
    """A catch-all GET that never matches the API's paths (so they keep their 404 / 405)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope.get("type") == "http" and path.startswith(API_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


def webapp_route(settings: Settings) -> Route:
    dist = dist_dir(settings)

    async def serve(request: Request) -> Response:
        root = dist.resolve()
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT.format(where=dist), status_code=503)
        wanted = (root / request.path_params["path"]).resolve()
        if wanted != root and wanted.is_relative_to(root) and wanted.is_file():
            immutable = wanted.is_relative_to(root / "assets")
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(wanted, headers={"Cache-Control": cache})
        return FileResponse(
            index,
            media_type="text/html",
            headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP},
        )

    return _AppRoute("/{path:path}", serve, methods=["GET"], include_in_schema=False)


__all__ = ["API_PREFIXES", "CSP", "default_dist", "dist_dir", "webapp_route"]
