"""The supervisor dashboard in real headless Chromium against the running app and Asterisk:
a real call from a softphone appears as waiting, then on call, then in the day's totals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from callcenter.kernel.roles import Role
from tests.support.accounts import PASSWORD, make_user
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.browser import base_url, login
from tests.support.routed import RoutedApp

pytestmark = pytest.mark.asterisk


async def _number(page: Page, selector: str) -> int:
    text = await page.locator(selector).first.text_content()
    return int((text or "0").strip())


async def test_a_real_call_on_the_dashboard_waiting_then_on_call_then_in_the_totals(
    asterisk: TestAsterisk,
    softphones: PhonePool,
    routed: Callable[..., Any],
    browser: Browser,
) -> None:
    app: RoutedApp = await routed(wrap_up_seconds=5.0)
    await make_user(app, "sup1", role=Role.SUPERVISOR)
    agent = await softphones("1001", auto_answer=False)  # answers when the test says so
    await app.agent("1001")
    caller = await softphones("2001")

    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await login(page, base_url(app), "sup1", PASSWORD)
    await page.goto(f"{base_url(app)}/dashboard?lang=en")
    await page.wait_for_selector("#dash-status[data-state=live]", timeout=10_000)
    assert await page.locator("#dash-title").text_content() == "Live dashboard"
    await page.wait_for_selector("#dash-agents tr[data-staff='1001'][data-state=available]")
    handled_before = await _number(page, "#dash-24h-handled")
    offered_before = await _number(page, "#dash-24h-offered")

    await caller.dial(asterisk.config.asterisk.inbound_number)
    waiting = page.locator("#dash-waiting-calls tr[data-linkedid]")
    await waiting.first.wait_for(timeout=10_000)
    linkedid = await waiting.first.get_attribute("data-linkedid")
    assert "2001" in (await waiting.first.text_content() or "")
    assert await _number(page, "#dash-center-waiting") == 1
    await agent.wait_event("CALL_INCOMING", 10)
    await page.wait_for_selector("#dash-agents tr[data-staff='1001'][data-state=ringing]")
    await asyncio.sleep(2.0)  # the agent lets it ring a little
    await agent.answer()

    await page.wait_for_selector(f"#dash-active-calls tr[data-linkedid='{linkedid}']")
    await page.wait_for_selector("#dash-agents tr[data-staff='1001'][data-state=on_call]")
    assert await page.locator(f"#dash-waiting-calls tr[data-linkedid='{linkedid}']").count() == 0
    assert await _number(page, "#dash-center-waiting") == 0
    # the supervisor's listen-in buttons are there for an agent on a call
    row = page.locator("#dash-agents tr[data-staff='1001']")
    assert await row.locator("button[data-action=listen]").count() == 1

    await asyncio.sleep(1.0)
    await caller.hangup()
    await page.wait_for_function(
        "(n) => Number(document.getElementById('dash-24h-handled').textContent) > n",
        arg=handled_before,
        timeout=15_000,
    )
    assert await _number(page, "#dash-24h-offered") == offered_before + 1
    assert await page.locator(f"#dash-active-calls tr[data-linkedid='{linkedid}']").count() == 0
    assert (await page.locator("#dash-24h-service_level").text_content() or "").endswith("%")
    # the hourly chart has this call in its volume and a service-level line
    offered = await page.eval_on_selector_all(
        "#dash-chart-svg rect.dash-bar-offered",
        "bars => bars.reduce((n, b) => n + Number(b.dataset.offered), 0)",
    )
    assert offered >= 1
    assert await page.locator("#dash-chart-svg polyline.dash-sl-line").count() == 1

    # a supervisor action from the page (cc.api sends the session's CSRF token)
    await page.wait_for_selector("#dash-agents tr[data-staff='1001'][data-state=available]")
    row = page.locator("#dash-agents tr[data-staff='1001']")
    await row.locator("select.dash-reason").select_option("meal")
    await row.locator("button[data-action=pause]").click()
    await page.wait_for_selector("#dash-agents tr[data-staff='1001'][data-state=paused]")
    assert (await app.state("1001"))["pause_reason"] == "meal"
    assert await page.locator("#dash-message").text_content() == ""

    # the definitions page, linked from the dashboard
    async with page.expect_navigation():
        await page.click("#dash-definitions")
    assert await page.locator("#metric-service_level").count() == 1
    assert "abandon" in (await page.locator("#metric-abandon_rate").text_content() or "").lower()
    await context.close()

    # Chinese labels
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await login(page, base_url(app), "sup1", PASSWORD)
    await page.goto(f"{base_url(app)}/dashboard")
    assert await page.locator("#dash-title").text_content() == "即時監控"
    await page.wait_for_selector("#dash-status[data-state=live]", timeout=10_000)
    await context.close()


async def test_an_agent_account_cannot_open_the_dashboard(
    routed: Callable[..., Any], browser: Browser
) -> None:
    app: RoutedApp = await routed()
    await make_user(app, "agent9", role=Role.AGENT, staff_no="1009")
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await login(page, base_url(app), "agent9", PASSWORD)
    response = await page.goto(f"{base_url(app)}/dashboard")
    assert response is not None and response.status == 403
    status = await page.evaluate(
        "new Promise(done => { const ws = new WebSocket(`ws://${location.host}/ws/dashboard`);"
        " ws.onopen = () => done('open'); ws.onerror = () => done('refused'); })"
    )
    assert status == "refused"
    await context.close()
