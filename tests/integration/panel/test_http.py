"""The agent panel's API on the real stack: who may open which panel, contacts, the screen
pop over the WebSocket for a real call, click-to-call through the agent's own phone."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from callcenter.calls.keys import REPOSITORY
from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from callcenter.kernel.roles import Role
from callcenter.panel.store import PanelRepository
from tests.support.accounts import PASSWORD, anonymous_client, logged_in, make_user
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk

pytestmark = pytest.mark.asterisk


async def _json(response: aiohttp.ClientResponse) -> Any:
    return await response.json()


def _finished(linkedid: str, number: str, agent: str, arrived: float) -> CallRecord:
    return CallRecord(
        linkedid=linkedid,
        direction=Direction.INBOUND,
        caller_number=number,
        caller_name=None,
        dialled_number="600",
        queue="support",
        arrived_at=arrived,
        answered_at=arrived + 2,
        ended_at=arrived + 60,
        answer_seconds=2.0,
        rings_to_answer=1,
        answered_by=Party.AGENT,
        agent=agent,
        agent_name=agent,
        hold_seconds=0.0,
        talk_seconds=58.0,
        hangup_first=Party.CALLER,
        outcome=Outcome.ANSWERED,
    )


async def test_who_may_open_which_panel_and_bad_input_gets_clear_errors(routed: Any) -> None:
    app = await routed()
    await app.agent("1001", login=False)
    await app.agent("1002", login=False)
    await make_user(app, "agent1", role=Role.AGENT, staff_no="1001")
    await make_user(app, "boss", role=Role.SUPERVISOR)
    await make_user(app, "inspector", role=Role.QA)
    # Two finished calls from one customer, one worked by each agent.
    await app.app[REPOSITORY].upsert_calls(
        [_finished("mine-1", "2003", "1001", 100.0), _finished("theirs-1", "2003", "1002", 200.0)]
    )
    for linkedid, staff in (("mine-1", "1001"), ("theirs-1", "1002")):
        await app.api(
            "POST", f"/api/agents/{staff}/wrapup", 201, linkedid=linkedid, category="咨詢"
        )

    async with logged_in(app, "agent1") as agent:
        state = await _json(await agent.get("/api/panel/state"))
        assert state["agent"]["staff_no"] == "1001"
        assert "missed-calls" not in state["pause_reasons"] and "break" in state["pause_reasons"]
        assert state["complaint_category"] == "投訴" and state["pop"] is None
        other = await agent.get("/api/panel/state?agent=1002")
        assert (other.status, (await other.json())["error_id"]) == (403, "not-own-agent")
        page = await agent.get("/panel")
        assert page.status == 200 and "/static/panel/panel.js" in await page.text()
        assert (await agent.get("/static/panel/panel.js")).status == 200

        # Contacts from the wrap-up form: the numbers of the agent's own calls.
        saved = await agent.request(
            "PUT", "/api/panel/contacts/20-03", json={"name": " 王先生 ", "member": True}
        )
        assert saved.status == 200, await saved.text()
        assert (await saved.json())["number"] == "2003"
        got = await _json(await agent.get("/api/panel/contacts/2003"))
        assert (got["name"], got["member"], got["name_source"]) == ("王先生", True, "agent")
        # A number the agent never talked to: refused like an unknown one, nothing written.
        stranger = await agent.request(
            "PUT", "/api/panel/contacts/138 0013 8000", json={"name": "Mallory"}
        )
        assert stranger.status == 404
        assert (await stranger.json())["error_id"] == "contact-not-found"
        for body, field in (({"member": "yes"}, "member"), ({"name": 5}, "name")):
            bad = await agent.request("PUT", "/api/panel/contacts/2001", json=body)
            assert bad.status == 400 and (await bad.json())["details"]["field"] == field
        bad_number = await agent.request("PUT", "/api/panel/contacts/call-me", json={"name": "x"})
        assert (await bad_number.json())["error_id"] == "invalid-number"
        missing = await agent.get("/api/panel/contacts/2999")
        assert (missing.status, (await missing.json())["error_id"]) == (404, "contact-not-found")

        # Click-to-call: a bad number, a logged-out agent.
        nonsense = await agent.post("/api/panel/call", json={"number": "call me"})
        assert (nonsense.status, (await nonsense.json())["error_id"]) == (400, "invalid-number")
        logged_out = await agent.post("/api/panel/call", json={"number": "2001"})
        assert (logged_out.status, (await logged_out.json())["error_id"]) == (
            409,
            "agent-unavailable",
        )
        for_other = await agent.post("/api/panel/call", json={"number": "2001", "agent": "1002"})
        assert for_other.status == 403

        nothing = await agent.get("/api/panel/pop/1234.5")
        assert (nothing.status, (await nothing.json())["error_id"]) == (404, "pop-not-found")
        # A pop no longer in memory is rebuilt from the call log, for one's own calls only.
        own = await _json(await agent.get("/api/panel/pop/mine-1"))
        assert (own["number"], [h["linkedid"] for h in own["history"]]) == ("2003", ["theirs-1"])
        assert (await agent.get("/api/panel/pop/theirs-1")).status == 404
        assert (await _json(await agent.get("/api/panel/callbacks")))["callbacks"] == []

    too_long = await app.api(
        "POST",
        "/api/agents/1001/wrapup",
        400,
        linkedid="x",
        category="投訴",
        subcategory="x" * 65,
    )
    assert too_long["details"]["field"] == "subcategory"

    assert await app.api("GET", "/api/panel/contacts/13800138000?agent=1001", 404)

    async with logged_in(app, "boss") as boss:
        nobody = await boss.get("/api/panel/state")
        assert (nobody.status, (await nobody.json())["error_id"]) == (400, "agent-required")
        assert (await boss.get("/api/panel/state?agent=1002")).status == 200
        theirs = await _json(await boss.get("/api/panel/pop/theirs-1?agent=1002"))
        assert [h["linkedid"] for h in theirs["history"]] == ["mine-1"]
        unknown = await boss.get("/api/panel/state?agent=9999")
        assert (unknown.status, (await unknown.json())["error_id"]) == (404, "unknown-agent")
        bad = await boss.get("/api/panel/state?agent=10%2001")
        assert (await bad.json())["error_id"] == "bad-parameter"

    async with logged_in(app, "inspector") as qa:
        assert (await qa.get("/api/panel/state?agent=1001")).status == 403
        refused = await qa.get("/panel")
        assert refused.status == 403 and "text/html" in refused.headers["Content-Type"]

    async with anonymous_client(app) as anon:
        to_login = await anon.get("/panel", allow_redirects=False)
        assert to_login.status in (302, 303) and "/login" in to_login.headers["Location"]
        assert (await anon.get("/api/panel/state?agent=1001")).status == 401


async def _messages(ws: aiohttp.ClientWebSocketResponse, want: int, within: float) -> list[Any]:
    out: list[Any] = []
    deadline = asyncio.get_running_loop().time() + within
    while len(out) < want:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            break
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            break
        if msg.type is not aiohttp.WSMsgType.TEXT:
            break
        out.append(json.loads(msg.data))
    return out


async def test_a_repeat_caller_rings_the_agent_and_the_panel_pops_with_history(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed(wrap_up_seconds=60.0)
    await make_user(app, "agent1", role=Role.AGENT, staff_no="1001")
    panel = PanelRepository(app.app[REPOSITORY].session_factory)
    await panel.save_contact("2001", name="Alice Chen", notes="", member=True, by="t", at=0.0)
    await softphones("1001")
    await app.agent("1001")
    caller = await softphones("2001")
    number = asterisk.config.asterisk.inbound_number

    # A first call, wrapped up with a note.
    await caller.dial(number)
    await caller.wait_event("CALL_ESTABLISHED", 20)
    await app.wait_state("1001", "on_call", 10)
    await caller.hangup()
    await caller.wait_event("CALL_CLOSED", 10)
    (first,) = await app.calls(1)
    await app.api(
        "POST",
        "/api/agents/1001/wrapup",
        201,
        linkedid=first.linkedid,
        category="查詢",
        notes="asked for the invoice",
    )

    async with logged_in(app, "agent1") as agent:
        ws = await agent.http.ws_connect("/ws/panel")
        (hello,) = await _messages(ws, 1, 5)
        assert hello["type"] == "hello" and hello["agent"]["staff_no"] == "1001"
        since = len(caller.events)
        await caller.dial(number)
        await caller.wait_event("CALL_ESTABLISHED", 20, since=since)
        got = await _messages(ws, 6, 8)
        pops = [m for m in got if m["type"] == "pop"]
        assert [p.get("loading", False) for p in pops][:2] == [True, False], got
        pop = pops[1]["pop"]
        assert (pop["number"], pop["name"], pop["repeat"]) == ("2001", "Alice Chen", True)
        assert pop["greeting"].startswith("Alice Chen,您好")
        assert pop["history"][0]["linkedid"] == first.linkedid
        assert pop["history"][0]["notes"] == "asked for the invoice"
        assert pop["contact"]["member"] is True
        states = [m["agent"]["state"] for m in got if m["type"] == "state"]
        assert "ringing" in states or "on_call" in states, got
        await caller.hangup()
        await caller.wait_event("CALL_CLOSED", 10, since=since)
        # A reload gets the same pop back.
        again = await _json(await agent.get(f"/api/panel/pop/{pop['linkedid']}"))
        assert again["history"] == pop["history"] and again["name"] == "Alice Chen"
        await ws.close()


async def test_click_to_call_rings_the_agents_phone_then_the_number(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    await make_user(app, "agent1", role=Role.AGENT, staff_no="1001", password=PASSWORD)
    agent_phone = await softphones("1001", wav_seconds=3.0)  # the agent hangs up after 3 s
    await app.agent("1001")
    customer = await softphones("2001")
    async with logged_in(app, "agent1") as agent:
        placed = await agent.post("/api/panel/call", json={"number": "20-01"})
        assert placed.status == 202, await placed.text()
        assert (await placed.json())["number"] == "2001"
        await agent_phone.wait_event("CALL_ESTABLISHED", 15)
        await customer.wait_event("CALL_ESTABLISHED", 15)
        busy = await agent.post("/api/panel/call", json={"number": "2002"})
        assert busy.status == 409  # on a call: no second one
    (record,) = await app.calls(1)
    assert record.direction is Direction.OUTBOUND
    assert record.outcome is Outcome.ANSWERED
    assert record.dialled_number == "2001"
    assert "click-to-call" in record.notes
    wrap = await app.wait_state("1001", "wrap_up", 10)
    assert wrap["call"] == record.linkedid
    assert record.arrived_at is not None
    day = datetime.fromtimestamp(record.arrived_at, UTC).date()  # the test center runs on UTC
    report = await app.api("GET", f"/api/reports/workload?from={day}&to={day}&agent=1001")
    (row,) = report["rows"]
    # (Earlier tests' inbound calls come back from Asterisk's trail into this database.)
    assert (row["proactive"], row["proactive_answered"]) == (1, 1)
