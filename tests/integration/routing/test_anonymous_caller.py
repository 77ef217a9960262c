"""A caller whose caller ID is no number (anonymous, withheld, a trunk's text) on the real
stack: it is stored and shown as it came, and the agent's wrap-up and case are saved,
through the API and through the agent panel in a headless Chromium."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, expect

from callcenter.agents.keys import AGENTS
from callcenter.agents.tables import WrapUpRow
from callcenter.calls.keys import REPOSITORY
from callcenter.calls.record import Outcome, Party
from callcenter.kernel.roles import Role
from tests.support.accounts import PASSWORD, make_user
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.browser import base_url, login

pytestmark = pytest.mark.asterisk

# What a trunk sends for a withheld number (RFC 3323's anonymous URI).
ANONYMOUS = '"Anonymous" <sip:anonymous@anonymous.invalid>'


async def test_an_anonymous_caller_reaches_an_agent_whose_wrap_up_and_case_are_stored(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    await softphones("1001")  # registered before the login (phone-not-registered)
    await app.agent("1001")
    caller = await softphones("2001", presented_as=ANONYMOUS)
    since = len(caller.events)
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 20, since=since)
    on_call = await app.wait_state("1001", "on_call", 10)
    # The screen pop shows the caller ID as it came, with nobody's history.
    pop = await app.api("GET", f"/api/panel/pop/{on_call['call']}?agent=1001")
    assert (pop["number"], pop["dialable"], pop["history"], pop["cases"]) == (
        "anonymous",
        False,
        [],
        [],
    )
    await asyncio.sleep(1.0)
    await caller.hangup()
    await caller.wait_event("CALL_CLOSED", 10, since=since)
    await app.wait_state("1001", "wrap_up", 10)

    (record,) = await app.calls(1)
    assert record.outcome is Outcome.ANSWERED and record.answered_by is Party.AGENT
    assert (record.caller_number, record.caller_name) == ("anonymous", "Anonymous")
    done = await app.api(
        "POST",
        "/api/agents/1001/wrapup",
        201,
        linkedid=record.linkedid,
        category="投訴",
        notes="caller would not give a number",
        resolved=False,
    )
    assert done["case"]["owner"] == "1001"
    assert done["agent"]["state"] == "available"
    (case,) = [
        c for c in (await app.api("GET", "/api/cases"))["cases"] if c["linkedid"] == record.linkedid
    ]
    assert (case["caller_number"], case["kind"], case["status"]) == (
        "anonymous",
        "complaint",
        "open",
    )
    # Only dialling needs a number: no reply callback for a number that cannot be called,
    # skipped and counted; and the case names no customer to route the next one to.
    callbacks = (await app.api("GET", "/api/callbacks"))["callbacks"]
    assert [c for c in callbacks if c["case_id"] == case["id"]] == []
    metrics = await app.client.get("/metrics")
    skipped = 'callcenter_callback_requests_skipped_total{reason="invalid-number"} 1.0'
    assert skipped in (await metrics.text()).splitlines()
    assert await app.app[AGENTS].open_case_owner("anonymous") is None
    # The call log shows the caller as it came.
    stored = await app.api("GET", f"/api/calls/{record.linkedid}")
    assert stored["caller_number"] == "anonymous"


async def test_the_panel_files_an_anonymous_callers_wrap_up_with_the_contact_fields_touched(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any, browser: Browser
) -> None:
    """The panel saves a contact before the wrap-up when the agent edits it; a caller ID
    that is no number has no contact, and that must not stop the wrap-up."""
    app = await routed(wrap_up_seconds=300.0)
    await make_user(app, "agent1001", role=Role.AGENT, staff_no="1001")
    await softphones("1001")
    await app.agent("1001")
    caller = await softphones("2002", presented_as=ANONYMOUS)

    context = await browser.new_context(locale="en")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = base_url(app)
    await login(page, base, "agent1001", PASSWORD)
    if not page.url.endswith("/panel"):
        await page.goto(f"{base}/panel")
    await expect(page.locator("body[data-ready='1']")).to_have_count(1, timeout=10_000)
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")

    await caller.dial(asterisk.config.asterisk.inbound_number)
    # Shown as it came, marked as no number.
    await expect(page.locator("#pop-number")).to_contain_text("anonymous", timeout=10_000)
    await expect(page.locator("#pop-number .tag")).to_have_count(1)
    await caller.wait_event("CALL_ESTABLISHED", 20)
    await expect(page.locator("#state")).to_have_attribute("data-state", "on_call")
    await asyncio.sleep(1)
    await caller.hangup()
    await expect(page.locator("#state")).to_have_attribute("data-state", "wrap_up", timeout=10_000)
    linkedid = await page.locator("#pop").get_attribute("data-linkedid")
    assert linkedid

    await page.select_option("#wrap-category", "咨詢")
    await page.fill("#wrap-notes", "asked for opening hours")
    await page.fill("#contact-name", "Mr Wang")  # touched: the panel would save a contact
    await page.click("#wrap-submit")
    await expect(page.locator("#wrap-result")).to_have_attribute("data-linkedid", linkedid)
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert errors == []
    await context.close()

    async with app.app[REPOSITORY].session_factory() as session:
        row = await session.scalar(sa.select(WrapUpRow).where(WrapUpRow.linkedid == linkedid))
    assert row is not None and (row.staff_no, row.category) == ("1001", "咨詢")
