"""`kill -9` of `callcenter serve` mid-burst, router in charge: agent states come back exact.

At the kill one agent is in wrap-up, one talks, one's phone rings, callers wait.
After the restart the wrap-up ends when it was due (its end was saved), the call
that ended while nobody listened starts its wrap-up when the backend learns of it,
the dead ring is released, the callers still waiting reach the agents, and in the
end nobody is left in `wrap_up` or `ringing`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.asterisk_fixtures import AUTH_HEADERS, PhonePool, TestAsterisk
from tests.support.backend import Backend

pytestmark = pytest.mark.asterisk

WRAP_UP = 10.0


@pytest.fixture
def backend(asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path) -> Iterator[Backend]:
    proc = Backend(asterisk, migrated_db_url, tmp_path)
    # The router this time: the port (and key) the test Asterisk's dialplan asks.
    proc.env["CALLCENTER_AGI_PORT"] = str(asterisk.config.router.agi_port)
    proc.env["CALLCENTER_AGI_KEY"] = asterisk.config.router.agi_key
    proc.env["CALLCENTER_SIP_PASSWORD"] = asterisk.sip_password
    proc.env["CALLCENTER_WRAPUP_SECONDS"] = str(WRAP_UP)
    proc.env["CALLCENTER_MAX_MISSED"] = "9"  # the agent who never answers stays in line
    proc.env["CALLCENTER_CALLBACKS"] = "off"  # earlier tests' abandoned calls stay put
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def http(backend: Backend) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{backend.port}", headers=AUTH_HEADERS
    ) as session:
        yield session


async def _api(http: aiohttp.ClientSession, method: str, path: str, **body: Any) -> Any:
    async with http.request(method, path, json=body or None) as response:
        data = await response.json()
        assert response.status < 300, (method, path, response.status, data)
        return data


async def _agents(http: aiohttp.ClientSession) -> dict[str, dict[str, Any]]:
    return {a["staff_no"]: a for a in (await _api(http, "GET", "/api/agents"))["agents"]}


async def _until(
    http: aiohttp.ClientSession, what: str, check: Any, within: float
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        agents = await _agents(http)
        if check(agents):
            return agents
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {within:.0f}s: {agents}")
        await asyncio.sleep(0.2)


async def test_given_serve_killed_mid_burst_then_every_agent_frees_on_time_and_callers_get_one(
    asterisk: TestAsterisk, softphones: PhonePool, backend: Backend, http: aiohttp.ClientSession
) -> None:
    number = asterisk.config.asterisk.inbound_number
    for agent in ("1001", "1002"):
        await softphones(agent)
    await softphones("1003", auto_answer=False)  # rings, never answers
    a, b, c, d = [await softphones(user) for user in ("2001", "2002", "2003", "2004")]
    backend.start()
    await backend.wait_ready()
    for staff_no in ("1001", "1002", "1003"):  # in this order: the longest idle first
        await _api(http, "POST", "/api/agents", staff_no=staff_no, name=staff_no, endpoint=staff_no)
        await _api(http, "POST", f"/api/agents/{staff_no}/login")
        await asyncio.sleep(0.2)

    # A talks to 1001 and hangs up: 1001 wraps up. B talks to 1002. C rings 1003.
    await a.dial(number)
    await a.wait_event("CALL_ESTABLISHED", 15)
    await asyncio.sleep(1.0)
    await a.hangup()
    await b.dial(number)
    await b.wait_event("CALL_ESTABLISHED", 15)
    await c.dial(number)
    before = await _until(
        http,
        "1001 wrapping up, 1002 talking, 1003 ringing",
        lambda s: (
            [s[x]["state"] for x in ("1001", "1002", "1003")] == ["wrap_up", "on_call", "ringing"]
        ),
        15,
    )
    wrap_until = before["1001"]["wrap_up_until"]
    call_b, call_c = before["1002"]["call"], before["1003"]["call"]
    await d.dial(number)  # nobody free for D: it waits
    await asyncio.sleep(0.5)
    backend.kill()

    # While nobody listens, B ends.
    await b.hangup()
    await asyncio.sleep(1.0)
    backend.start()
    await backend.wait_ready()
    learnt_at = time.time()
    # The reconcile (on the AMI connect) learns that B ended: 1002 wraps it up (or, had
    # the dialplan's app_queue fallback given 1002 another caller meanwhile, talks).
    after = await _until(
        http,
        "B's end learnt",
        lambda s: (
            (s["1002"]["state"], s["1002"]["call"] == call_b)
            in {("wrap_up", True), ("on_call", False)}
        ),
        5,
    )
    # The wrap-up came back with its saved end (to the microsecond the database keeps).
    assert after["1001"]["state"] == "wrap_up"
    assert after["1001"]["wrap_up_until"] == pytest.approx(wrap_until, abs=1e-3)

    # 1001 is free again when its wrap-up was due (then free for the waiting callers).
    freed = await _until(
        http,
        "1001 out of wrap-up",
        lambda s: s["1001"]["state"] != "wrap_up",
        max(0.0, wrap_until - time.time()) + 5,
    )
    assert time.time() >= wrap_until - 0.5, freed["1001"]
    # The callers who waited through the crash reach an agent: C (rung at the kill) too.
    reached: set[str] = set()

    def connected(states: dict[str, dict[str, Any]]) -> bool:
        reached.update(s["call"] for s in states.values() if s["state"] == "on_call")
        return call_c in reached

    await _until(http, "the caller rung at the crash with an agent", connected, 45)
    for caller in (c, d):
        await caller.hangup()

    # In the end nobody is stuck: wrap-ups end on time, no ring outlives its offer.
    settled = await _until(
        http,
        "every agent available",
        lambda s: all(s[x]["state"] == "available" for x in ("1001", "1002", "1003")),
        WRAP_UP + 15,
    )
    assert all(s["ring_until"] is None and s["call"] is None for s in settled.values())
    log = (await _api(http, "GET", "/api/agents/1002/states"))["transitions"]
    ended = [t for t in log if t["linkedid"] == call_b and t["new"] == "wrap_up"]
    # B's end was learnt at the restart's reconcile: the wrap-up counted from then.
    assert ended and ended[0]["reason"] == "ended-while-disconnected", log
    assert ended[0]["at"] >= learnt_at - 10
