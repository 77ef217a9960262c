"""The router on the real stack: softphone agents and callers, the whole app, its API."""

from __future__ import annotations

import array
import asyncio
import math
import subprocess
import time
import wave
from pathlib import Path
from typing import Any

import pytest

from callcenter.calls.record import Outcome, Party
from callcenter.kernel.web.keys import AMI
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.softphone import SoftphoneError

pytestmark = pytest.mark.asterisk


def _loud_seconds(path: Path, threshold: int = 500) -> float:
    """Seconds of audio above a speech-like level in a 16-bit mono WAV."""
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        samples = array.array("h", wav.readframes(wav.getnframes()))
    step = rate // 10
    loud = 0
    for start in range(0, len(samples), step):
        chunk = samples[start : start + step]
        if chunk and math.sqrt(sum(x * x for x in chunk) / len(chunk)) > threshold:
            loud += 1
    return loud / 10


def _silence(path: Path, seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed"]
    subprocess.run(
        ["sox", "-n", *fmt, str(path), "trim", "0", str(seconds)], check=True, capture_output=True
    )
    return path


async def test_the_caller_hears_the_staff_number_then_the_agent_wraps_up(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any, tmp_path: Path
) -> None:
    app = await routed()
    # The agent says nothing: whatever the caller hears is Asterisk's.
    await softphones("1001", wav=_silence(tmp_path / "quiet.wav", 60))
    await app.agent("1001")
    caller = await softphones("2001", record=True)

    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 15)
    on_call = await app.wait_state("1001", "on_call", 5)
    await asyncio.sleep(2)
    await caller.hangup()
    wrap = await app.wait_state("1001", "wrap_up", 10)
    assert wrap["call"] == on_call["call"]

    # The announcement reached the caller (as early media, before the bridge): the
    # agent answered at once, so at most a second of ring tone, the rest is the prompt.
    prompt = asterisk.instance.sounds_host_dir / "agents" / "1001.wav"
    with wave.open(str(prompt)) as wav:
        prompt_seconds = wav.getnframes() / wav.getframerate()
    heard = caller.heard()  # baresip starts a new file when the stream restarts
    assert heard
    assert sum(_loud_seconds(f) for f in heard) >= prompt_seconds - 1.0

    (record,) = await app.calls(1)
    assert record.outcome is Outcome.ANSWERED
    assert record.agent == "1001"
    assert record.queue == "support"
    assert record.answer_seconds is not None and record.answer_seconds < 2.0
    assert record.hangup_first is Party.CALLER
    done = await app.api(
        "POST",
        "/api/agents/1001/wrapup",
        201,
        category="投訴",
        notes="parcel late",
        resolved=False,
    )
    assert done["case"]["owner"] == "1001"
    assert done["case"]["reply_due_at"] - done["case"]["opened_at"] == pytest.approx(48 * 3600)
    # The complaint is in the callback queue: a reply due within its 48 hours.
    (reply,) = [
        c
        for c in (await app.api("GET", "/api/callbacks"))["callbacks"]
        if c["purpose"] == "complaint-reply"  # (earlier tests' abandoned calls come back)
    ]
    assert (reply["purpose"], reply["number"], reply["case_id"]) == (
        "complaint-reply",
        "2001",
        done["case"]["id"],
    )
    assert reply["deadline"] == pytest.approx(done["case"]["reply_due_at"])
    assert done["agent"]["state"] == "available"
    assert done["wrap_seconds"] is not None and done["wrap_seconds"] >= 0


async def _call(caller: Any, number: str, talk: float) -> None:
    """Dial, stay `talk` seconds once answered (by anyone), hang up."""
    since = len(caller.events)
    await caller.dial(number)
    await caller.wait_event("CALL_ESTABLISHED", 20, since=since)
    await asyncio.sleep(talk)
    await caller.hangup()
    await caller.wait_event("CALL_CLOSED", 10, since=since)


async def test_longest_idle_agent_first_and_a_repeat_caller_reaches_their_case_owner(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed(wrap_up_seconds=60.0)
    number = asterisk.config.asterisk.inbound_number
    await softphones("1001")
    await softphones("1002")  # (an agent logs in once their phone is registered)
    await app.agent("1002")  # logged in first: the longest idle
    await asyncio.sleep(0.2)
    await app.agent("1001")
    customer, other = await softphones("2001"), await softphones("2002")

    await _call(customer, number, 1.0)
    (first,) = await app.calls(1)
    assert first.agent == "1002"
    opened = await app.api(
        "POST", "/api/agents/1002/wrapup", 201, category="投訴", notes="late", resolved=False
    )
    assert opened["case"]["owner"] == "1002"
    assert opened["case"]["caller_number"] == "2001"
    # 1001 is now the longest idle, but the customer's case belongs to 1002.
    await _call(customer, number, 1.0)
    second = (await app.calls(2))[1]
    assert second.agent == "1002"
    assert second.caller_number == "2001"
    await app.api("POST", "/api/agents/1002/wrapup", 201, category="查詢", resolved=True)
    # Anyone else gets the longest idle agent.
    await _call(other, number, 1.0)
    third = (await app.calls(3))[2]
    assert third.agent == "1001"


async def test_a_burst_is_answered_within_three_rings_and_held_callers_reach_agents(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    """Two answering agents, one who never answers, four callers at once."""
    app = await routed(wrap_up_seconds=1.0, max_missed=1)
    number = asterisk.config.asterisk.inbound_number
    budget = asterisk.config.ring.budget_seconds
    await softphones("1003", auto_answer=False)
    # The agents' microphones end after 20 s: they hang up while the others wait.
    await softphones("1001", wav_seconds=20.0)
    await softphones("1002", wav_seconds=20.0)
    await app.agent("1003")  # longest idle: rung first, never answers
    await asyncio.sleep(0.2)
    await app.agent("1001")
    await app.agent("1002")
    callers = [await softphones(user) for user in ("2001", "2002", "2003", "2004")]

    async def call(caller: Any) -> None:
        await caller.dial(number)
        await caller.wait_event("CALL_ESTABLISHED", budget + 3)
        await asyncio.sleep(32)
        await caller.hangup()

    await asyncio.gather(*(call(c) for c in callers))
    records = await app.calls(4, within=60)

    for record in records:
        assert record.answered_at is not None, record
        assert record.answer_seconds is not None
        assert record.answer_seconds <= budget + 0.5, record  # never a fourth ring
    by_system = [r for r in records if r.answered_by is Party.SYSTEM]
    by_agent = [r for r in records if r.answered_by is Party.AGENT]
    assert len(by_agent) == 2 and len(by_system) == 2, records
    assert {r.agent for r in by_agent} == {"1001", "1002"}
    # Held callers were connected to the agents as they came free.
    for record in by_system:
        assert record.agent in {"1001", "1002"}, record
        assert "agent-after-system-answer" in record.notes
    # 1003 missed its call: paused with reason, the supervisor told.
    missed = await app.state("1003")
    assert missed["state"] == "paused" and missed["pause_reason"] == "missed-calls"
    alerts = (await app.api("GET", "/api/alerts"))["alerts"]
    assert any(a["kind"] == "missed-calls" and a["staff_no"] == "1003" for a in alerts)
    log = (await app.api("GET", "/api/agents/1003/states"))["transitions"]
    assert [t["new"] for t in log][-2:] == ["ringing", "paused"]


async def test_after_hours_the_caller_leaves_a_message_that_becomes_a_callback_request(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    # One shift that never covers now: it ends before it starts the next minute... so pick
    # an hour far from the current one.
    hour = (time.gmtime().tm_hour + 12) % 24
    app = await routed(shifts=f"A={hour:02d}:00-{hour:02d}:30", timezone="UTC")
    await softphones("1001")
    await app.agent("1001")
    caller = await softphones("2003")
    await _call(caller, asterisk.config.asterisk.inbound_number, 8.0)
    (record,) = await app.calls(1)
    assert record.agent is None
    assert record.answered_by is Party.SYSTEM
    assert (await app.state("1001"))["state"] == "available"  # never rung
    requests = (await app.api("GET", "/api/callback-requests"))["callback_requests"]
    (request,) = [r for r in requests if r["linkedid"] == record.linkedid]
    assert request["source"] == "after-hours"
    assert request["caller_number"] == "2003"
    callbacks = (await app.api("GET", "/api/callbacks"))["callbacks"]
    assert [c["purpose"] for c in callbacks if c["linkedid"] == record.linkedid] == ["after-hours"]
    message = asterisk.recordings_dir / request["message_path"]
    for _ in range(30):
        if message.is_file() and message.stat().st_size > 44:
            break
        await asyncio.sleep(0.2)
    assert message.stat().st_size > 44, "the caller's message was not recorded"


async def test_a_held_caller_presses_1_for_a_callback(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    caller = await softphones("2004")
    since = len(caller.events)
    await caller.dial(asterisk.config.asterisk.inbound_number)
    established = await caller.wait_event("CALL_ESTABLISHED", 20, since=since)
    assert established
    for _ in range(15):  # until the menu hears it (baresip's last digit may not end)
        await caller.send_dtmf("11")
        try:
            await caller.wait_event("CALL_CLOSED", 1.5, since=since)
            break
        except SoftphoneError:
            continue
    await caller.wait_event("CALL_CLOSED", 5, since=since)
    (record,) = await app.calls(1)
    assert record.answered_by is Party.SYSTEM
    assert record.answer_seconds is not None
    assert record.answer_seconds <= asterisk.config.ring.budget_seconds + 0.5
    requests = (await app.api("GET", "/api/callback-requests"))["callback_requests"]
    assert [r["source"] for r in requests if r["linkedid"] == record.linkedid] == ["press-1"]
    callbacks = (await app.api("GET", "/api/callbacks"))["callbacks"]
    mine = [(c["purpose"], c["number"]) for c in callbacks if c["linkedid"] == record.linkedid]
    assert mine == [("press-1", "2004")]


async def test_bad_agent_requests_get_clear_errors(softphones: PhonePool, routed: Any) -> None:
    app = await routed()
    await app.agent("1001", login=False)
    # Hot-desking: logging in at a phone Asterisk does not know is refused.
    error = await app.api("POST", "/api/agents/1001/login", 409, endpoint="no-such-phone")
    assert error["error_id"] == "unknown-endpoint"
    assert (await app.state("1001"))["state"] == "logged_out"
    error = await app.api("POST", "/api/agents/1001/pause", 400, reason="nap")
    assert error["error_id"] == "agent-logged-out" or error["error_id"] == "unknown-pause-reason"
    # No phone registered at 1001 yet: no login (calls would ring a phone that cannot ring).
    error = await app.api("POST", "/api/agents/1001/login", 409)
    assert (error["error_id"], error["details"]["endpoint"]) == ("phone-not-registered", "1001")
    assert (await app.state("1001"))["state"] == "logged_out"
    await softphones("1001")
    await app.api("POST", "/api/agents/1001/login")
    error = await app.api("POST", "/api/agents/1001/pause", 400, reason="nap")
    assert error["error_id"] == "unknown-pause-reason"
    assert "break" in error["message"]
    error = await app.api("POST", "/api/agents/4242/login", 404)
    assert error["error_id"] == "unknown-agent"
    error = await app.api("POST", "/api/agents", 409, staff_no="1001", name="Dup", endpoint="1001")
    assert error["error_id"] == "agent-exists"
    error = await app.api("POST", "/api/agents", 400, staff_no="bad no", name="x", endpoint="y")
    assert error["error_id"] == "bad-field"
    error = await app.api("POST", "/api/agents/1001/wrapup", 400, linkedid="1.1", category="gossip")
    assert error["error_id"] == "unknown-category"
    response = await app.client.post("/api/agents", data=b"{not json")
    assert response.status == 400
    assert (await response.json())["error_id"] == "bad-json"


async def test_a_pause_and_its_reason_survive_a_backend_restart(
    softphones: PhonePool, routed: Any
) -> None:
    first = await routed()
    await softphones("1001")
    await first.agent("1001")
    await first.api("POST", "/api/agents/1001/pause", reason="meal")
    await first.api("POST", "/api/agents/1001/pause", reason="training")  # reason change
    await first.client.close()
    second = await routed()
    state = await second.state("1001")
    assert state["state"] == "paused" and state["pause_reason"] == "training"
    await second.api("POST", "/api/agents/1001/unpause")
    log = (await second.api("GET", "/api/agents/1001/states"))["transitions"]
    assert [(t["new"], t["reason"]) for t in log] == [
        ("available", None),
        ("paused", "meal"),
        ("paused", "training"),
        ("available", "training"),  # the unpause says which pause it ended
    ]


async def test_an_agent_added_through_the_api_gets_an_endpoint_and_takes_calls(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    await app.agent("2101", endpoint="agent-2101", login=False)
    phone = await softphones("agent-2101")
    assert await phone.registered()
    await app.api("POST", "/api/agents/2101/login")
    caller = await softphones("2001")
    await _call(caller, asterisk.config.asterisk.inbound_number, 1.0)
    (record,) = await app.calls(1)
    assert record.outcome is Outcome.ANSWERED
    assert record.agent == "agent-2101"
    script = await app.api("GET", "/api/agents/2101/script")
    assert "2 1 0 1" in script["announcement"]
    assert script["closing"]


async def test_an_agent_removed_while_ringing_stops_ringing_and_the_call_moves_on(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    ringing_phone = await softphones("1001", auto_answer=False)
    await softphones("1002")
    await app.agent("1001")  # longest idle: rung first
    await asyncio.sleep(0.2)
    await app.agent("1002")
    caller = await softphones("2002")
    since = len(caller.events)
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await app.wait_state("1001", "ringing", 10)
    await ringing_phone.wait_event("CALL_INCOMING", 5)
    removed = await app.api("DELETE", "/api/agents/1001")
    assert removed == {"removed": "1001"}
    await ringing_phone.wait_event("CALL_CLOSED", 5)
    await caller.wait_event("CALL_ESTABLISHED", 15, since=since)
    await asyncio.sleep(1)
    await caller.hangup()
    (record,) = await app.calls(1)
    assert record.agent == "1002"
    assert record.answer_seconds is not None and record.answer_seconds < 8.0
    agents = (await app.api("GET", "/api/agents"))["agents"]
    assert [a["staff_no"] for a in agents] == ["1002"]


async def test_asterisk_restarting_mid_ring_loses_no_call_and_frees_the_agent(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    await softphones("1004")
    await app.agent("1004")
    await app.api("POST", "/api/agents/1004/pause", reason="meeting")
    await softphones("1003", auto_answer=False)
    await app.agent("1003")
    caller = await softphones("2003")
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await app.wait_state("1003", "ringing", 10)
    ami = app.app[AMI]
    reconnects = ami.reconnects
    await asyncio.to_thread(asterisk.restart)
    # The offer can end before the app even sees AMI drop (the ring fails as Asterisk
    # stops): wait for its reconnect, or the next call may go by while it is deaf.
    for _ in range(300):
        if ami.reconnects > reconnects and ami.connected:
            break
        await asyncio.sleep(0.1)
    assert ami.reconnects > reconnects and ami.connected, "the app never reconnected to AMI"
    # Back after the restart: the offer is gone, the agent is free again.
    await app.wait_state("1003", "available", 30)
    paused = await app.state("1004")  # a pause is ours: Asterisk restarting does not touch it
    assert paused["state"] == "paused" and paused["pause_reason"] == "meeting"
    (record,) = await app.calls(1, within=60)
    assert record.caller_number == "2003"
    assert record.agent is None
    assert record.outcome.value in {"interrupted", "abandoned"}
    # And routing works on the restarted Asterisk.
    await softphones("1003")  # re-registers (auto-answer now)
    await app.api("POST", "/api/agents/1003/login")  # (no-op if the restart kept it in)
    await _call(caller, asterisk.config.asterisk.inbound_number, 1.0)
    records = await app.calls(2, within=40)
    assert records[1].agent == "1003"


async def test_an_abandoned_call_is_queued_for_a_callback(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    await softphones("1002", auto_answer=False)
    await app.agent("1002")
    caller = await softphones("2002")
    since = len(caller.events)
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await app.wait_state("1002", "ringing", 10)
    await asyncio.sleep(1.0)
    await caller.hangup()
    await caller.wait_event("CALL_CLOSED", 10, since=since)
    (record,) = await app.calls(1)
    assert record.outcome is Outcome.ABANDONED
    for _ in range(30):
        callbacks = [
            c
            for c in (await app.api("GET", "/api/callbacks"))["callbacks"]
            if c["linkedid"] == record.linkedid
        ]
        if callbacks:
            break
        await asyncio.sleep(0.2)
    assert [(c["purpose"], c["number"]) for c in callbacks] == [("abandoned", "2002")]
