"""`kill -9` the backend mid-traffic: every call still ends up in the log exactly once.

The backend runs as `callcenter serve` (a real process); Asterisk keeps taking
calls while it is dead and writes its own trail (CEL); on restart the backend
rebuilds what it missed from that trail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.calls.record import CallRecord, Outcome, Party
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.backend import Backend
from tests.support.traffic import in_queue

pytestmark = pytest.mark.asterisk


@pytest.fixture
def backend(asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path) -> Iterator[Backend]:
    proc = Backend(asterisk, migrated_db_url, tmp_path)
    try:
        yield proc
    finally:
        proc.stop()


async def test_given_backend_killed_mid_traffic_then_every_call_is_logged_once(
    asterisk: TestAsterisk, softphones: PhonePool, backend: Backend
) -> None:
    number = asterisk.config.asterisk.inbound_number
    await softphones("1001")
    await softphones("1002")
    ringing_agent = await softphones("1003", auto_answer=False)
    a, b, c, d = [await softphones(user) for user in ("2001", "2002", "2003", "2004")]
    backend.start()
    await backend.wait_ready()

    async with in_queue(asterisk, "1001"):
        # A: seen live from start to end.
        await a.dial(number)
        await a.wait_event("CALL_ESTABLISHED", 15)
        await asyncio.sleep(1.5)
        await a.hangup()
        (seen_live,) = await backend.wait_calls(1)
        # B talking to 1001, C ringing 1003 when the backend dies.
        await b.dial(number)
        await b.wait_event("CALL_ESTABLISHED", 15)
    async with in_queue(asterisk, "1003"):
        await c.dial(number)
        await ringing_agent.wait_event("CALL_INCOMING", 10)
        await asyncio.sleep(1)
        backend.kill()
        # While it is dead: B and C end, D comes and goes, E (A's phone again) starts.
        await asyncio.sleep(1)
        await b.hangup()
        await c.hangup()
    async with in_queue(asterisk, "1002"):
        await d.dial(number)
        await d.wait_event("CALL_ESTABLISHED", 15)
        await asyncio.sleep(1.5)
        await d.hangup()
    async with in_queue(asterisk, "1001"):
        await a.dial(number)
        await a.wait_event("CALL_ESTABLISHED", 15)
        backend.start()
        await backend.wait_ready()
        await asyncio.sleep(1)
        await a.hangup()
        calls = await backend.wait_calls(5)

    assert len(calls) == 5
    assert len({c.linkedid for c in calls}) == 5
    by_caller: dict[str, list[CallRecord]] = {}
    for call in sorted(calls, key=lambda r: r.arrived_at or 0):
        by_caller.setdefault(call.caller_number or "", []).append(call)
    first_a, last_a = by_caller["2001"]
    (call_b,) = by_caller["2002"]
    (call_c,) = by_caller["2003"]
    (call_d,) = by_caller["2004"]

    assert first_a == seen_live and not first_a.reconstructed
    assert (call_b.outcome, call_b.agent, call_b.hangup_first) == (
        Outcome.ANSWERED,
        "1001",
        Party.CALLER,
    )
    assert (call_c.outcome, call_c.agent) == (Outcome.ABANDONED, None)
    assert (call_d.outcome, call_d.agent, call_d.hangup_first) == (
        Outcome.ANSWERED,
        "1002",
        Party.CALLER,
    )
    assert (last_a.outcome, last_a.agent, last_a.hangup_first) == (
        Outcome.ANSWERED,
        "1001",
        Party.CALLER,
    )
    for rebuilt in (call_b, call_c, call_d, last_a):
        assert rebuilt.reconstructed, rebuilt
        assert rebuilt.arrived_at is not None and rebuilt.ended_at is not None
    for answered in (call_b, call_d, last_a):
        assert answered.answered_at is not None
        assert sorted(r.leg for r in answered.recordings) == [
            "agent",
            "agent-voice",
            "caller",
            "customer-voice",
        ]
    # E was picked up from its real start, not from when the backend came back.
    assert last_a.answer_seconds is not None and last_a.answer_seconds < 5
