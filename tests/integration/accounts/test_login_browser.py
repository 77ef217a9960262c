"""The login page in real headless Chromium: form login, the role's start page, errors in
the page, and the shared shell's CSRF-carrying API helper."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Browser

from callcenter.kernel.roles import Role
from callcenter.kernel.web import access
from tests.support.accounts import PASSWORD, make_user
from tests.support.browser import base_url, login
from tests.support.routed import RoutedApp

pytestmark = pytest.mark.asterisk


def _path(url: str) -> str:
    return urllib.parse.urlparse(url).path


async def test_form_login_lands_on_the_roles_page(
    routed: Callable[..., Any], browser: Browser
) -> None:
    app: RoutedApp = await routed()
    base = base_url(app)
    await make_user(app, "sup1", role=Role.SUPERVISOR)
    await make_user(app, "agent1", role=Role.AGENT, staff_no="1001")

    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await page.goto(f"{base}/")  # not logged in: to the login page, and back after
    assert _path(page.url) == "/login"
    assert await page.locator("h1").text_content() == "Log in"
    await page.fill("#username", "sup1")
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("#login-form button[type=submit]")
    assert _path(page.url) == "/dashboard"
    me = await page.evaluate("fetch('/api/me').then(r => r.json())")
    assert me["user"]["username"] == "sup1" and me["user"]["role"] == "supervisor"
    assert me["csrf_token"]
    (cookie,) = [c for c in await context.cookies() if c["name"] == "cc_session"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert await page.evaluate("document.cookie.includes('cc_session')") is False
    await context.close()

    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await login(page, base, "agent1", PASSWORD)
    assert _path(page.url) == "/panel"  # `/` sends each role to its own page
    # A page the agent may not open: refused in the page, with the shared shell loaded,
    # whose cc.api() sends the session's CSRF token (a POST without it would be a 403).
    forbidden = next(
        p.path
        for p in access.table(app.app).all()
        if p.page and p.roles is not None and Role.AGENT not in p.roles and "{" not in p.path
    )
    response = await page.goto(f"{base}{forbidden}")
    assert response is not None and response.status == 403
    assert "无权访问" in (await page.locator("h1").text_content() or "")
    result = await page.evaluate("cc.api('POST', '/logout')")
    assert result == {"logged_out": True}
    assert await page.evaluate("fetch('/api/me').then(r => r.status)") == 401
    await context.close()


async def test_wrong_password_shows_the_error_in_the_page(
    routed: Callable[..., Any], browser: Browser
) -> None:
    app: RoutedApp = await routed()
    base = base_url(app)
    await make_user(app, "qa1", role=Role.QA)
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.fill("#username", "qa1")
    await page.fill("#password", "not-the-password")
    async with page.expect_navigation():
        await page.click("#login-form button[type=submit]")
    assert _path(page.url) == "/login"
    assert (await page.locator("#login-error").text_content()) == "用户名或密码错误。"
    assert await page.input_value("#username") == "qa1"
    # Switch to English and try again: the error is in English, and the right password works.
    await page.click("a[hreflang=en]")
    await page.fill("#username", "qa1")
    await page.fill("#password", "still-wrong-password")
    async with page.expect_navigation():
        await page.click("#login-form button[type=submit]")
    assert (await page.locator("#login-error").text_content()) == "Wrong username or password."
    await login(page, base, "qa1", PASSWORD)
    assert _path(page.url) == "/qa"
    await context.close()
