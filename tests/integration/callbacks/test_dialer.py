"""Callbacks on the real stack: agent first, then the customer's softphone."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from callcenter.agents.keys import AGENT_REPOSITORY
from tests.support.asterisk_fixtures import TEST_API_TOKEN, PhonePool, TestAsterisk
from tests.support.softphone import SoftphoneError

pytestmark = pytest.mark.asterisk


async def _outbound_agent(app: Any, staff_no: str) -> None:
    await app.api(
        "POST",
        "/api/agents",
        201,
        staff_no=staff_no,
        name=f"Agent {staff_no}",
        endpoint=staff_no,
        skills=["outbound"],
    )
    await app.api("POST", f"/api/agents/{staff_no}/login")


async def _settled(app: Any, callback_id: int, within: float = 40.0) -> dict[str, Any]:
    """The callback once an attempt was recorded (or it is done)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = (await app.api("GET", "/api/callbacks"))["callbacks"]
        (callback,) = [c for c in found if c["id"] == callback_id]
        if callback["attempts"] >= 1 and callback["status"] != "dialling":
            return dict(callback)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"callback never attempted: {callback}")
        await asyncio.sleep(0.3)


async def test_a_callback_rings_the_agent_then_the_customer_who_answers(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    agent = await softphones("1001", wav_seconds=4.0)  # the agent ends the call
    await _outbound_agent(app, "1001")
    customer = await softphones("2001")
    created = await app.api("POST", "/api/callbacks", 201, number="2001", purpose="press-1")
    again = await app.api("POST", "/api/callbacks", 200, number="20 01", purpose="press-1")
    assert again["merged"] and again["id"] == created["id"]

    await agent.wait_event("CALL_ESTABLISHED", 15)
    incoming = await customer.wait_event("CALL_ESTABLISHED", 15)
    assert incoming
    done = await _settled(app, created["id"])
    assert (done["status"], done["last_outcome"], done["attempts"]) == ("done", "answered", 1)
    (record,) = await app.calls(1)
    assert record.direction.value == "outbound"
    assert record.dialled_number == "2001"
    assert record.agent == "1001"
    wrap = await app.wait_state("1001", "wrap_up", 10)
    assert wrap["call"] == record.linkedid


async def test_a_customer_who_does_not_answer_is_retried_later(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    await softphones("1002")
    await _outbound_agent(app, "1002")
    customer = await softphones("2002", auto_answer=False)
    created = await app.api("POST", "/api/callbacks", 201, number="2002", purpose="abandoned")
    await customer.wait_event("CALL_INCOMING", 15)
    missed = await _settled(app, created["id"])
    assert (missed["status"], missed["last_outcome"], missed["attempts"]) == (
        "pending",
        "no-answer",
        1,
    )
    assert missed["due_at"] - created["due_at"] >= 30 * 60 - 60  # 30 minutes later


async def test_a_busy_customer_is_recorded_as_busy(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    await softphones("1003")
    await _outbound_agent(app, "1003")
    customer = await softphones("2003", auto_answer=False)
    created = await app.api("POST", "/api/callbacks", 201, number="2003", purpose="press-1")
    await customer.wait_event("CALL_INCOMING", 15)
    await customer.hangup()  # rejects the incoming call: 486 Busy Here
    busy = await _settled(app, created["id"])
    assert (busy["status"], busy["last_outcome"]) == ("pending", "busy")


async def test_bad_callback_requests_get_clear_errors(routed: Any) -> None:
    app = await routed()
    error = await app.api("POST", "/api/callbacks", 400, number="call me", purpose="press-1")
    assert error["error_id"] == "invalid-number"
    error = await app.api("POST", "/api/callbacks", 400, number="2001", purpose="lottery")
    assert error["error_id"] == "unknown-purpose"
    error = await app.api("POST", "/api/callbacks/999/cancel", 404)
    assert error["error_id"] == "callback-not-found"
    assert (await app.api("GET", "/api/callbacks"))["callbacks"] == []


async def test_a_follow_up_ends_with_the_survey_and_a_satisfied_answer_closes_the_case(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:

    app = await routed()
    case = await app.app[AGENT_REPOSITORY].open_case(
        "complaint", "2004", "1004", "parcel lost", time.time(), time.time() + 48 * 3600
    )
    await softphones("1004", wav_seconds=3.0)  # the agent says goodbye and hangs up
    await _outbound_agent(app, "1004")
    customer = await softphones("2004")
    created = await app.api(
        "POST", "/api/callbacks", 201, number="2004", purpose="follow-up", case_id=case.id
    )
    since = len(customer.events)
    await customer.wait_event("CALL_ESTABLISHED", 20, since=since)
    for _ in range(20):  # press 1 until the survey takes it (baresip's last digit may not end)
        await asyncio.sleep(1.0)
        try:
            await customer.send_dtmf("11")
            await customer.wait_event("CALL_CLOSED", 0.5, since=since)
            break
        except SoftphoneError:
            continue
    surveys = []
    for _ in range(30):
        surveys = (await app.api("GET", "/api/surveys"))["surveys"]
        if surveys:
            break
        await asyncio.sleep(0.2)
    assert [(s["callback_id"], s["answer"], s["label"]) for s in surveys] == [
        (created["id"], 1, "satisfied")
    ]
    cases = (await app.api("GET", "/api/cases"))["cases"]
    assert [c["status"] for c in cases if c["id"] == case.id] == ["closed"]
    done = await _settled(app, created["id"])
    assert done["status"] == "done"


async def test_a_supervisor_closes_a_case_without_a_satisfied_follow_up(routed: Any) -> None:

    app = await routed()
    case = await app.app[AGENT_REPOSITORY].open_case(
        "complaint", "2001", "1001", "noise", time.time(), None
    )
    error = await app.api("POST", f"/api/cases/{case.id}/close", 400)
    assert error["error_id"] in {"bad-json", "bad-field"}
    closed = await app.api("POST", f"/api/cases/{case.id}/close", reason="refund issued")
    assert closed["status"] == "closed"
    error = await app.api("POST", f"/api/cases/{case.id}/close", 404, reason="again")
    assert error["error_id"] == "case-not-open"


async def test_the_cli_manages_callbacks_and_agents_through_the_service(
    routed: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from callcenter.cli import main

    # The CLI sends the service token from its environment (as an operator's would).
    monkeypatch.setenv("CALLCENTER_API_TOKEN", TEST_API_TOKEN)
    app = await routed()
    url = str(app.client.make_url("")).rstrip("/")

    def cli(*argv: str) -> int:
        return main(list(argv))

    assert await asyncio.to_thread(cli, "callback", "--url", url, "create", "2001") == 0
    created = json.loads(capsys.readouterr().out)
    assert created["purpose"] == "press-1" and created["status"] == "pending"
    assert await asyncio.to_thread(cli, "callback", "--url", url, "list") == 0
    assert "2001" in capsys.readouterr().out
    later = "2030-01-02T10:00:00+08:00"
    assert (
        await asyncio.to_thread(
            cli, "callback", "--url", url, "reschedule", str(created["id"]), later
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["due_at"] >= created["due_at"]
    assert await asyncio.to_thread(cli, "callback", "--url", url, "cancel", str(created["id"])) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "cancelled"
    assert await asyncio.to_thread(cli, "callback", "--url", url, "create", "not a number") == 1
    assert "invalid-number" in capsys.readouterr().err
    added = await asyncio.to_thread(
        cli, "agent", "--url", url, "add", "1004", "Li Si", "--endpoint", "1004"
    )
    assert added == 0
    capsys.readouterr()
    assert await asyncio.to_thread(cli, "agent", "--url", url, "list") == 0
    assert "1004" in capsys.readouterr().out
