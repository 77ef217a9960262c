"""Real headless Chromium for page tests: Debian's `chromium`, driven by Playwright.

Playwright's own browser download is never used (`executable_path`); a missing
chromium fails the test loudly: `scripts/setup` installs it with WITH_BROWSER=1.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.support.routed import RoutedApp

# Chromium's own background traffic is refused by the closed network here, and slows it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    path = os.environ.get("CALLCENTER_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "chromium is not installed: run `WITH_BROWSER=1 scripts/setup` (Debian package"
            " chromium); browser tests never download a browser of their own"
        )
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            await instance.close()


def base_url(app: RoutedApp) -> str:
    """The running app's loopback address, for the browser."""
    return str(app.client.make_url("")).rstrip("/")


async def login(page: Page, base: str, username: str, password: str) -> None:
    """Log in through the real login form (GET /login, POST /login); returns once the
    browser has left the login page (on the role's start page, `/` redirects by role)."""
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.click("#login-form button[type=submit]")
    if urllib.parse.urlparse(page.url).path == "/login":
        error = await page.text_content("#login-error")
        raise AssertionError(f"logging in as {username} failed: {error}")
