"""Push, not poll, on the real stack: a held caller's agent phone rings within a second of
the agent's wrap-up ending, measured from AMI event timestamps.

The wrap-up is ended (a filed wrap-up) while the held caller's hold loop is reading out
their position: a router that waited for the loop's next ask would ring the agent only
after the announcement, seconds later.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callcenter.calls.record import Party
from callcenter.routing.keys import ROUTER
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.raw_ami import Message

pytestmark = pytest.mark.asterisk


def _on(endpoint: str) -> Any:
    return lambda e: (e.get("DestChannel") or "").startswith(f"PJSIP/{endpoint}-")


def _stamp(event: Message) -> float:
    return float(event["Timestamp"])


async def _freed_at(app: Any, staff_no: str) -> float:
    """When the agent's wrap-up ended: their last transition to `available`."""
    log = (await app.api("GET", f"/api/agents/{staff_no}/states"))["transitions"]
    ends = [t for t in log if (t["old"], t["new"]) == ("wrap_up", "available")]
    assert ends, log
    return float(ends[-1]["at"])


async def test_held_callers_are_connected_within_1_s_of_an_agents_wrap_up_ending(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    # A long wrap-up: only the filed wrap-ups below end it, at moments the test picks.
    app = await routed(wrap_up_seconds=120.0)
    number = asterisk.config.asterisk.inbound_number
    for staff_no in ("1001", "1002"):  # 1001 logs in first: the longest idle
        await app.agent(staff_no, login=False)
        await softphones(staff_no)
        await app.api("POST", f"/api/agents/{staff_no}/login")
        await asyncio.sleep(0.2)
    first, second, held_a, held_b = [
        await softphones(user) for user in ("2001", "2002", "2003", "2004")
    ]
    async with asterisk.ami() as ami:
        for caller, staff_no in ((first, "1001"), (second, "1002")):
            await caller.dial(number)
            await caller.wait_event("CALL_ESTABLISHED", 15)
            await app.wait_state(staff_no, "on_call", 10)
        # Two more callers: nobody free, so the system answers them after the budget.
        since = len(ami.events)
        await held_a.dial(number)
        await asyncio.sleep(0.5)
        await held_b.dial(number)
        for phone in (held_a, held_b):
            await phone.wait_event("CALL_ESTABLISHED", asterisk.config.ring.budget_seconds + 5)
        answers = [
            await ami.wait_event(
                "UserEvent",
                5,
                since=since,
                where=lambda e, n=n: (
                    e.get("UserEvent") == "SystemAnswer" and e.get("CallerIDNum") == n
                ),
            )
            for n in ("2003", "2004")
        ]
        oldest_channel = answers[0]["Channel"]
        # The first two calls end: both agents are in wrap-up, two callers held.
        for caller in (first, second):
            await caller.hangup()
        for staff_no in ("1001", "1002"):
            await app.wait_state(staff_no, "wrap_up", 10)

        # 1001's wrap-up ends while the oldest held caller hears their position read out.
        since = len(ami.events)
        await ami.wait_event(
            "Newexten",
            30,
            since=since,
            where=lambda e: (
                e.get("Channel") == oldest_channel and e.get("AppData") == "queue-youarenext"
            ),
        )
        await app.api("POST", "/api/agents/1001/wrapup", 201, category="查詢", resolved=True)
        freed = await _freed_at(app, "1001")
        rang = await ami.wait_event("DialBegin", 10, since=since, where=_on("1001"))
        # The agent's phone answers (the staff-number announcement then plays to the
        # caller before the bridge: DialEnd comes after it).
        picked = await ami.wait_event(
            "Newstate",
            10,
            since=since,
            where=lambda e: (
                (e.get("Channel") or "").startswith("PJSIP/1001-")
                and e.get("ChannelStateDesc") == "Up"
            ),
        )
        assert rang["Channel"] == oldest_channel  # the oldest held caller first
        assert 0.0 <= _stamp(rang) - freed < 1.0, (freed, rang)
        assert _stamp(picked) - freed < 1.0, (freed, picked)

        # 1002's wrap-up ends whatever the other held caller is hearing.
        since = len(ami.events)
        await app.api("POST", "/api/agents/1002/wrapup", 201, category="查詢", resolved=True)
        freed = await _freed_at(app, "1002")
        rang = await ami.wait_event("DialBegin", 10, since=since, where=_on("1002"))
        assert rang["CallerIDNum"] == "2004"
        assert 0.0 <= _stamp(rang) - freed < 1.0, (freed, rang)

        for staff_no in ("1001", "1002"):
            await app.wait_state(staff_no, "on_call", 5)
        await asyncio.sleep(1.0)
        for phone in (held_a, held_b):
            await phone.hangup()
    records = await app.calls(4, within=30)
    by_caller = {r.caller_number: r for r in records}
    for caller, staff_no in (("2003", "1001"), ("2004", "1002")):
        record = by_caller[caller]
        assert record.answered_by is Party.SYSTEM, record
        assert record.agent == staff_no, record
        assert "agent-after-system-answer" in record.notes
    assert app.app[ROUTER].stats.pushes >= 2


async def test_a_redirect_racing_the_callers_hangup_frees_the_agent_for_the_next_caller(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    """The push reserves the agent, the caller hangs up before or as the Redirect lands:
    the agent is free again and the next held caller gets them."""
    app = await routed(wrap_up_seconds=120.0)
    number = asterisk.config.asterisk.inbound_number
    await app.agent("1001", login=False)
    await softphones("1001")
    await app.api("POST", "/api/agents/1001/login")
    busy, leaving, staying = [await softphones(u) for u in ("2001", "2002", "2003")]
    await busy.dial(number)
    await busy.wait_event("CALL_ESTABLISHED", 15)
    await app.wait_state("1001", "on_call", 10)
    await leaving.dial(number)
    await asyncio.sleep(0.5)
    await staying.dial(number)
    for phone in (leaving, staying):
        await phone.wait_event("CALL_ESTABLISHED", asterisk.config.ring.budget_seconds + 5)
    await busy.hangup()
    await app.wait_state("1001", "wrap_up", 10)
    async with asterisk.ami() as ami:
        since = len(ami.events)
        # Hang up and end the wrap-up together: the push may pick the leaving caller.
        await asyncio.gather(
            leaving.hangup(),
            app.api("POST", "/api/agents/1001/wrapup", 201, category="查詢", resolved=True),
        )
        rang = await ami.wait_event(
            "DialBegin",
            10,
            since=since,
            where=lambda e: _on("1001")(e) and e.get("CallerIDNum") == "2003",
        )
        assert rang
    await app.wait_state("1001", "on_call", 10)
    await staying.hangup()


async def test_a_ringing_caller_is_pushed_too_and_answered_by_the_agent_within_budget(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    """A caller still in the ring phase (in Wait(), asking every second) is redirected
    as well; the push step sends them on through the dialplan's budget checks."""
    app = await routed(wrap_up_seconds=120.0)
    number = asterisk.config.asterisk.inbound_number
    budget = asterisk.config.ring.budget_seconds
    await app.agent("1001", login=False)
    await softphones("1001")
    await app.api("POST", "/api/agents/1001/login")
    first, ringing = await softphones("2001"), await softphones("2002")
    await first.dial(number)
    await first.wait_event("CALL_ESTABLISHED", 15)
    await app.wait_state("1001", "on_call", 10)
    await first.hangup()
    await app.wait_state("1001", "wrap_up", 10)
    async with asterisk.ami() as ami:
        since = len(ami.events)
        await ringing.dial(number)
        arrived = await ami.wait_event(
            "Newchannel", 10, since=since, where=lambda e: e.get("CallerIDNum") == "2002"
        )
        await asyncio.sleep(3.0)  # ringing, no agent free
        pushes = app.app[ROUTER].stats.pushes
        await app.api("POST", "/api/agents/1001/wrapup", 201, category="查詢", resolved=True)
        freed = await _freed_at(app, "1001")
        rang = await ami.wait_event("DialBegin", 10, since=since, where=_on("1001"))
        assert rang["Channel"] == arrived["Channel"]
        assert 0.0 <= _stamp(rang) - freed < 1.0, (freed, rang)
        await ringing.wait_event("CALL_ESTABLISHED", budget)
        await asyncio.sleep(0.5)
        await ringing.hangup()
    assert app.app[ROUTER].stats.pushes == pushes + 1
    record = next(r for r in await app.calls(2) if r.caller_number == "2002")
    assert record.answered_by is Party.AGENT and record.agent == "1001", record
    assert record.answer_seconds is not None and record.answer_seconds < budget
