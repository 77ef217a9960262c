"""Phones that are not registered, on the real stack: no login, no offer left ringing.

Each test gives its agent an endpoint of its own (created through the API), so no
registration left by another test's softphone can answer for it."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.agents.keys import AGENTS
from tests.support.asterisk_fixtures import PhonePool

pytestmark = pytest.mark.asterisk


async def test_login_is_refused_until_the_phone_registers_and_a_phone_leaving_logs_out(
    softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    await app.agent("2201", endpoint="agent-2201", login=False)
    refused = await app.api("POST", "/api/agents/2201/login", 409)
    assert refused["error_id"] == "phone-not-registered"
    assert refused["details"] == {"endpoint": "agent-2201"}
    assert (await app.state("2201"))["state"] == "logged_out"

    phone = await softphones("agent-2201")
    assert (await app.api("POST", "/api/agents/2201/login"))["state"] == "available"
    await phone.stop()  # unregisters: Asterisk says PeerStatus Unreachable
    await app.wait_state("2201", "logged_out", 10)
    log = (await app.api("GET", "/api/agents/2201/states"))["transitions"]
    assert [(t["new"], t["reason"]) for t in log] == [
        ("available", None),
        ("logged_out", "device-gone"),
    ]
    alerts = (await app.api("GET", "/api/alerts"))["alerts"]
    assert [(a["kind"], a["staff_no"]) for a in alerts] == [("device-unavailable", "2201")]


async def test_click_to_call_and_a_callback_to_an_unregistered_phone_release_the_agent(
    routed: Any,
) -> None:
    app = await routed()
    await app.api(
        "POST",
        "/api/agents",
        201,
        staff_no="2202",
        name="Agent 2202",
        endpoint="agent-2202",
        skills=["outbound"],
    )
    # Logged in while Asterisk could not be asked (the AMI link down, say): let through.
    app.app[AGENTS].act("2202", "login")

    # Click-to-call: refused before anything is dialled; the agent stays free.
    refused = await app.api("POST", "/api/panel/call", 409, agent="2202", number="2001")
    assert refused["error_id"] == "phone-not-registered"
    assert (await app.state("2202"))["state"] == "available"

    # A callback: the dialler offers it to the agent and originates their phone; Asterisk
    # fails that at once. The agent is released with the reason (and, their phone being
    # unreachable, logged out), the callback keeps its turn.
    created = await app.api("POST", "/api/callbacks", 201, number="2001", purpose="press-1")
    await app.wait_state("2202", "logged_out", 15)
    log = (await app.api("GET", "/api/agents/2202/states"))["transitions"]
    assert [(t["new"], t["reason"]) for t in log][-3:] == [
        ("ringing", None),
        ("available", "phone-unavailable"),
        ("logged_out", "phone-unavailable"),
    ]
    assert log[-3]["linkedid"].startswith("callback-")
    (callback,) = [
        c for c in (await app.api("GET", "/api/callbacks"))["callbacks"] if c["id"] == created["id"]
    ]
    assert (callback["status"], callback["attempts"]) == ("pending", 0)
    alerts = (await app.api("GET", "/api/alerts"))["alerts"]
    assert ("phone-unavailable", "2202") in [(a["kind"], a["staff_no"]) for a in alerts]
