"""The memory inspector: one static page (HTML, CSS, JS and a vendored cytoscape.js)
that the API serves at ``/inspector``. The page holds no data of its own: it calls the
REST API from the browser with the key the user types, so it sees what that key sees.

Plain files rather than a Python UI library: nothing to build at install, nothing
rendered on the server with the caller's data, and the same endpoints the SDK uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

PATH = "/inspector"
STATIC_DIR = Path(__file__).parent / "static"

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""No inline script or style and nothing from another origin: the page runs offline,
and a stored text that slipped past the page's escaping still could not run."""

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


class _StaticFiles(StaticFiles):
    """The page's assets, with the page's security headers."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(HEADERS)
        return response


async def _page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=HEADERS)


def mount(app: FastAPI) -> None:
    """``GET /inspector`` (the page) and ``/inspector/static/...`` (its assets), left
    out of the OpenAPI schema."""
    app.add_api_route(PATH, _page, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{PATH}/", _page, methods=["GET"], include_in_schema=False)
    app.mount(f"{PATH}/static", _StaticFiles(directory=STATIC_DIR), name="inspector-static")
