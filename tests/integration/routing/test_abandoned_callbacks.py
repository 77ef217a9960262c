"""Callers who never talk to a person are called back, once, on the real stack: a caller
held by the system who hangs up gets an abandoned callback; one who pressed 1 has the
press-1 callback and no other."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from callcenter.calls.record import CALLBACK_REQUESTED, Outcome, Party
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.routed import RoutedApp

pytestmark = pytest.mark.asterisk

HELD_SECONDS = 3.0


async def _metric(app: RoutedApp, sample: str, **labels: str) -> float:
    """One sample from /metrics, 0 when absent (a labelled counter never incremented)."""
    response = await app.client.get("/metrics")
    assert response.status == 200
    for family in text_string_to_metric_families(await response.text()):
        for s in family.samples:
            if s.name == sample and s.labels == labels:
                return s.value
    return 0.0


async def _callbacks_of(app: RoutedApp, number: str, settle: float = 2.0) -> list[Any]:
    """The callbacks for `number`, once the sources had `settle` seconds to add more."""
    await asyncio.sleep(settle)  # a second callback would be requested by now
    return [
        c for c in (await app.api("GET", "/api/callbacks"))["callbacks"] if c["number"] == number
    ]


async def test_a_held_caller_who_hangs_up_gets_exactly_one_abandoned_callback(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()  # no agent logged in: the system answers at the budget
    caller = await softphones("2002")
    since = len(caller.events)
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 25, since=since)  # the system answered
    await asyncio.sleep(HELD_SECONDS)  # on hold: greeting, music, nobody free
    await caller.hangup()
    await caller.wait_event("CALL_CLOSED", 10, since=since)

    (record,) = await app.calls(1)
    assert record.outcome is Outcome.ABANDONED_AFTER_SYSTEM
    assert (record.answered_by, record.hangup_first, record.agent) == (
        Party.SYSTEM,
        Party.CALLER,
        None,
    )
    assert record.arrived_at is not None and record.answered_at is not None
    assert record.ended_at is not None
    # The wait, in all and after the system answer, as stored in the call log.
    assert record.wait_seconds == pytest.approx(record.ended_at - record.arrived_at, abs=0.01)
    assert record.system_wait_seconds == pytest.approx(
        record.ended_at - record.answered_at, abs=0.01
    )
    assert record.system_wait_seconds == pytest.approx(HELD_SECONDS, abs=1.5)
    budget = asterisk.config.ring.budget_seconds
    assert record.wait_seconds - record.system_wait_seconds <= budget + 0.5
    shown = await app.api("GET", f"/api/calls/{record.linkedid}")
    assert (shown["outcome"], shown["wait_seconds"]) == (
        "abandoned_after_system",
        record.wait_seconds,
    )

    mine = await _callbacks_of(app, "2002")
    assert [(c["purpose"], c["linkedid"], c["status"]) for c in mine] == [
        ("abandoned", record.linkedid, "pending")
    ]
    # /metrics: a system answer and an abandon while held, never a budget success.
    queue = {"queue": record.queue or "none"}
    for sample, value in (
        ("callcenter_calls_answered_by_system_total", 1),
        ("callcenter_calls_abandoned_after_system_answer_total", 1),
        ("callcenter_calls_answered_by_agent_within_budget_total", 0),
        ("callcenter_calls_answered_within_budget_total", 0),
        ("callcenter_calls_abandoned_total", 0),
    ):
        assert await _metric(app, sample, **queue) == value, sample
    assert await _metric(app, "callcenter_callback_requests_total") == 1


async def test_a_caller_who_presses_1_and_hangs_up_gets_only_the_press_1_callback(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed()
    caller = await softphones("2003")
    since = len(caller.events)
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 25, since=since)
    for _ in range(40):  # until the menu hears it (baresip's last digit may not end)
        await caller.send_dtmf("11")
        requests = (await app.api("GET", "/api/callback-requests"))["callback_requests"]
        if any(r["caller_number"] == "2003" for r in requests):
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the press-1 request never arrived")
    # The caller hangs up at once, during the thank-you the system plays before its own
    # hang-up: the hard case, a held caller who hung up.
    await caller.hangup()
    await caller.wait_event("CALL_CLOSED", 10, since=since)

    (record,) = await app.calls(1)
    assert record.answered_by is Party.SYSTEM and record.agent is None
    assert record.hangup_first is Party.CALLER
    assert CALLBACK_REQUESTED in record.notes
    assert record.outcome is Outcome.ANSWERED_BY_SYSTEM  # served: not an abandon
    mine = await _callbacks_of(app, "2003")
    assert [(c["purpose"], c["linkedid"]) for c in mine] == [("press-1", record.linkedid)]
