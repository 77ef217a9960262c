"""Callbacks on the real stack: agent first, then the customer's softphone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.asterisk_fixtures import PhonePool, TestAsterisk

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
    await _outbound_agent(app, "1001")
    agent = await softphones("1001", wav_seconds=4.0)  # the agent ends the call
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
    await _outbound_agent(app, "1002")
    await softphones("1002")
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
    await _outbound_agent(app, "1003")
    await softphones("1003")
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
