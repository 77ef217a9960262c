"""The QA console page (`GET /qa`) and its scripts: plain HTML, JS and CSS, no build step.

The page holds no data: everything comes from the QA API with the browser's session, so
the row-level rules (an inspector sees only their samples) stay in one place, the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

from callcenter.kernel.roles import STAFF
from callcenter.kernel.web import access

STATIC_DIR: Final = Path(__file__).parent / "static"
# Only our own origin: no CDN, no inline script, audio from the recordings API.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


async def console_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        STATIC_DIR / "index.html",
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-cache",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
        },
    )


def setup_qa_console_routes(app: web.Application) -> None:
    access.route(
        app,
        "GET",
        "/qa",
        console_page,
        roles=STAFF,
        summary="the QA console (inspectors, supervisors)",
        page=True,
        tag="qa",
    )
    access.static(
        app,
        "/static/qa",
        str(STATIC_DIR),
        roles=STAFF,
        summary="the QA console's scripts and styles",
    )
