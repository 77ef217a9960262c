"""The shared HTML page shell (zh-CN and English) that every page can reuse.

`page()` wraps a body in the common head: `/static/ui/shell.css` and
`/static/ui/shell.js` (`cc.me()`, `cc.api()` with the CSRF token, `cc.logout()`).
Pages served through `html_response` get a strict Content-Security-Policy
(scripts only from this origin, no framing).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"  # ui/: the page shell every area shares
LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        " form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def pick_lang(request: web.Request) -> str:
    """`?lang=` first, then the browser's Accept-Language, then Chinese."""
    asked = request.query.get("lang", "")
    if asked.lower().startswith("en"):
        return "en"
    if asked.lower().startswith("zh"):
        return "zh-CN"
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANG


def page(
    title: str,
    body: str,
    *,
    lang: str = DEFAULT_LANG,
    scripts: Sequence[str] = (),
    styles: Sequence[str] = (),
) -> str:
    """A whole document; `title` is escaped here, `body` must already be safe HTML."""
    links = "".join(
        f'<link rel="stylesheet" href="{html.escape(s)}">'
        for s in ("/static/ui/shell.css", *styles)
    )
    tags = "".join(
        f'<script src="{html.escape(s)}" defer></script>' for s in ("/static/ui/shell.js", *scripts)
    )
    return (
        f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>{links}{tags}</head>"
        f'<body class="cc">{body}</body></html>'
    )


def html_response(text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=text, status=status, content_type="text/html", headers=SECURITY_HEADERS
    )


_REFUSED = {
    "zh-CN": ("无权访问", "您的账号无权打开此页面。", "返回首页"),
    "en": ("Not allowed", "Your account may not open this page.", "Back to the start page"),
}


def refused_page(request: web.Request, detail: str, status: int = 403) -> web.Response:
    """An HTML refusal for page routes (the API gets JSON errors)."""
    lang = pick_lang(request)
    title, text, back = _REFUSED[lang]
    body = (
        f'<main class="cc-card"><h1>{title}</h1><p class="cc-error" role="alert">{text}</p>'
        f'<p class="cc-muted">{html.escape(detail)}</p><p><a href="/">{back}</a></p></main>'
    )
    return html_response(page(title, body, lang=lang), status)
