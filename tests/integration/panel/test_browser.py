"""The agent panel and the reports page in a real headless Chromium, against the whole app
and the real Asterisk: a repeat caller rings the agent's softphone, the panel pops with
the caller's name and history, the agent files the wrap-up in the page; a supervisor
downloads a report as CSV."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, expect

from callcenter.agents.tables import WrapUpRow
from callcenter.calls.keys import REPOSITORY
from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from callcenter.kernel.roles import Role
from callcenter.panel.store import PanelRepository
from tests.support.accounts import PASSWORD, make_user
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.browser import base_url, login

pytestmark = pytest.mark.asterisk


def _earlier_call(linkedid: str, number: str, arrived: float) -> CallRecord:
    return CallRecord(
        linkedid=linkedid,
        direction=Direction.INBOUND,
        caller_number=number,
        caller_name=None,
        dialled_number="600",
        queue="support",
        arrived_at=arrived,
        answered_at=arrived + 3,
        ended_at=arrived + 120,
        answer_seconds=3.0,
        rings_to_answer=1,
        answered_by=Party.AGENT,
        agent="1002",
        agent_name="1002",
        hold_seconds=0.0,
        talk_seconds=117.0,
        hangup_first=Party.CALLER,
        outcome=Outcome.ANSWERED,
    )


async def test_a_repeat_caller_pops_on_the_panel_and_the_agent_files_the_wrap_up(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any, browser: Browser
) -> None:
    app = await routed(wrap_up_seconds=300.0)
    await app.agent("1002", login=False)
    await make_user(app, "agent1001", role=Role.AGENT, staff_no="1001")
    # The caller called before: a call in the log, its wrap-up note, a contact name.
    yesterday = datetime.now(UTC).timestamp() - 86_400
    await app.app[REPOSITORY].upsert_calls([_earlier_call("prior-1", "2001", yesterday)])
    await app.api(
        "POST",
        "/api/agents/1002/wrapup",
        201,
        linkedid="prior-1",
        category="報修",
        notes="water heater leaking, technician booked",
        resolved=False,
    )
    panel = PanelRepository(app.app[REPOSITORY].session_factory)
    await panel.save_contact("2001", name="陳小姐", notes="", member=False, by="seed", at=yesterday)

    await softphones("1001")
    await app.agent("1001")
    caller = await softphones("2001")

    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = base_url(app)
    await login(page, base, "agent1001", PASSWORD)
    if not page.url.endswith("/panel"):
        await page.goto(f"{base}/panel")
    await expect(page.locator("body[data-ready='1']")).to_have_count(1, timeout=10_000)
    await expect(page.locator("#ws-status")).to_have_attribute("data-state", "open")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")

    await caller.dial(asterisk.config.asterisk.inbound_number)
    # The pop: the caller's name, greeted as a repeat caller, with the earlier call's note.
    await expect(page.locator("#pop-name")).to_have_text("陳小姐", timeout=10_000)
    await expect(page.locator("#pop-greeting")).to_contain_text("陳小姐,您好")
    await expect(page.locator("#pop-repeat")).to_have_class("tag repeat")
    earlier = page.locator("#pop-history tr[data-linkedid='prior-1']")
    await expect(earlier).to_contain_text("water heater leaking, technician booked")
    await expect(earlier).to_contain_text("報修")
    await expect(page.locator("#pop-number")).to_have_text("2001")

    await caller.wait_event("CALL_ESTABLISHED", 20)
    await expect(page.locator("#state")).to_have_attribute("data-state", "on_call")
    await asyncio.sleep(1)
    await caller.hangup()
    await expect(page.locator("#state")).to_have_attribute("data-state", "wrap_up", timeout=10_000)
    linkedid = await page.locator("#pop").get_attribute("data-linkedid")
    assert linkedid and linkedid != "prior-1"

    # The wrap-up, filed in the page; the caller becomes a member on the way.
    await expect(page.locator("#wrap-subcategory")).to_be_hidden()  # complaints only
    await page.select_option("#wrap-category", "查詢")
    await page.fill("#wrap-notes", "checked the technician's arrival time")
    await page.check("#wrap-resolved")
    await page.check("#contact-member")
    await page.click("#wrap-submit")
    await expect(page.locator("#wrap-result")).to_have_attribute("data-linkedid", linkedid)
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert errors == []
    await context.close()

    async with app.app[REPOSITORY].session_factory() as session:
        row = await session.scalar(sa.select(WrapUpRow).where(WrapUpRow.linkedid == linkedid))
    assert row is not None
    assert (row.staff_no, row.category, row.notes, row.resolved) == (
        "1001",
        "查詢",
        "checked the technician's arrival time",
        True,
    )
    contact = await panel.contact("2001")
    assert contact is not None and (contact.name, contact.member) == ("陳小姐", True)
    (record,) = await app.calls(1)
    assert record.linkedid == linkedid and record.agent == "1001"


async def test_a_supervisor_downloads_a_report_as_csv(
    routed: Any, browser: Browser, tmp_path: Path
) -> None:
    app = await routed()
    await app.agent("1001", login=False)
    await make_user(app, "boss", role=Role.SUPERVISOR)
    day = datetime(2026, 10, 5, 9, tzinfo=UTC).timestamp()
    complaint = _earlier_call("c-1", "13800138000", day)
    await app.app[REPOSITORY].upsert_calls([complaint])
    await app.api(
        "POST",
        "/api/agents/1001/wrapup",
        201,
        linkedid="c-1",
        category="投訴",
        subcategory="服務態度",
        notes="rude on the phone",
    )

    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    base = base_url(app)
    await login(page, base, "boss", PASSWORD)
    await page.goto(f"{base}/reports?lang=en")
    await page.select_option("#report-kind", "complaints")
    await expect(page.locator("#report-period")).to_be_hidden()  # not a complaints filter
    await page.fill("#report-from", "2026-10-05")
    await page.fill("#report-to", "2026-10-11")
    await page.click("#report-show")
    await expect(page.locator("#report-rows tbody tr")).to_have_count(1)
    await expect(page.locator("#report-rows tbody tr")).to_contain_text("服務態度")
    async with page.expect_download() as waiting:
        await page.click("#report-csv")
    download = await waiting.value
    assert download.suggested_filename == "complaints-weekly-2026-10-05-2026-10-11.csv"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("週 / week,投訴類別 / complaint type,件數 / count")
    assert lines[1].startswith("2026-W41,服務態度,1,1.0")
    # A bad filter shows the API's message in the page.
    await page.fill("#report-from", "2026-10-12")
    await page.click("#report-show")
    await expect(page.locator("#report-error")).to_have_attribute("data-error-id", "bad-range")
    await context.close()
