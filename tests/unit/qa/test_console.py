"""The QA console's page and files as served: policy, headers, and no missing module.

The behaviour of the page itself is tested in real Chromium
(tests/integration/qa/test_console_browser.py); this checks what a browser never
reports clearly: a script that 404s, a wrong MIME type for a module, an outside URL.
"""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callcenter.kernel.roles import Principal, Role
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import middlewares
from callcenter.qa.console_http import STATIC_DIR, setup_qa_console_routes

IMPORT = re.compile(r"""^import .* from "\./([\w-]+\.js)";$""", re.M)


def _app(role: Role | None) -> web.Application:
    app = web.Application(middlewares=[*middlewares(), access.access_middleware])

    async def authenticate(request: web.Request) -> Principal | None:
        return None if role is None else Principal(username="u", role=role, via="token")

    access.table(app).authenticators.append(authenticate)
    setup_qa_console_routes(app)
    return app


async def _client(role: Role | None) -> TestClient[web.Request, web.Application]:
    client = TestClient(TestServer(_app(role)))
    await client.start_server()
    return client


async def test_the_page_and_every_module_it_loads_are_served_to_an_inspector() -> None:
    client = await _client(Role.QA)
    try:
        page = await client.get("/qa")
        assert page.status == 200
        assert page.content_type == "text/html"
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "media-src 'self'" in csp
        html = await page.text()
        wanted = set(re.findall(r'(?:src|href)="(/static/qa/[\w.-]+)"', html))
        assert {"/static/qa/console.js", "/static/qa/console.css"} <= wanted
        for script in STATIC_DIR.glob("*.js"):
            wanted |= {f"/static/qa/{name}" for name in IMPORT.findall(script.read_text())}
        for path in sorted(wanted):
            response = await client.get(path)
            assert response.status == 200, path
            if path.endswith(".js"):
                assert "javascript" in response.content_type, (path, response.content_type)
        # No CDN, no outside address anywhere in the console's files.
        for file in STATIC_DIR.iterdir():
            assert not re.search(r"https?://", file.read_text()), file.name
    finally:
        await client.close()


async def test_anonymous_users_are_sent_to_the_login_page_and_agents_refused() -> None:
    client = await _client(None)
    try:
        response = await client.get("/qa", allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"] == "/login?next=/qa"
        assert (await client.get("/static/qa/console.js")).status == 401
    finally:
        await client.close()
    client = await _client(Role.AGENT)
    try:
        assert (await client.get("/qa")).status == 403
        assert (await client.get("/static/qa/console.js")).status == 403
    finally:
        await client.close()


def test_both_languages_have_the_same_strings() -> None:
    source = (STATIC_DIR / "i18n.js").read_text()
    zh = source[source.index('"zh-CN": {') : source.index("\n  en: {")]
    en = source[source.index("\n  en: {") : source.index("export const LANGUAGES")]
    key = re.compile(r'^ {4}"?([\w.-]+)"?:', re.M)
    assert set(key.findall(zh)) == set(key.findall(en))
    used = set()
    for script in STATIC_DIR.glob("*.js"):
        used |= set(re.findall(r'\bt\("([\w.-]+)"', script.read_text()))
    used |= set(re.findall(r'data-i18n="([\w.-]+)"', (STATIC_DIR / "index.html").read_text()))
    assert used <= set(key.findall(en)), used - set(key.findall(en))
