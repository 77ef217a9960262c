"""Issue 19: a ring offer that Asterisk never confirms expires after its ring time.

A `route` request that carries the install's key but whose call never dials (a
request lost between Asterisk and us, or forged by someone who read the key)
makes the router offer an agent a call that no phone rings for. The agent is
released once the ring time it was given and the offer margin have passed,
with reason `offer-expired`, and takes real calls again."""

from __future__ import annotations

import time
from typing import Any

import pytest

from callcenter.agents.keys import AGENTS
from callcenter.kernel.web.keys import AGI
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.fastagi import send_agi

pytestmark = pytest.mark.asterisk


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # nothing here is the database's
async def test_an_offer_no_channel_ever_confirms_is_withdrawn_after_its_ring_time(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed(callbacks={"enabled": False})
    await softphones("1001")
    await app.agent("1001")
    port, key = app.app[AGI].port, app.config.router.agi_key
    # Arrived "now" with the full budget: the router rings 1001 for what is left of it.
    args = ["1700000000.99", "2009", f"{time.time():.3f}", "support", "", "", ""]
    commands = await send_agi(port, f"route?key={key}", args)
    assert 'SET VARIABLE CC_ACTION "dial"' in commands
    ringing = await app.state("1001")
    assert ringing["state"] == "ringing" and ringing["call"] == "1700000000.99"
    ring_until = ringing["ring_until"]
    margin = app.app[AGENTS].board.settings.offer_margin
    assert ring_until - ringing["since"] <= asterisk.config.ring.budget_seconds + margin

    freed = await app.wait_state("1001", "available", ring_until - time.time() + 3)
    assert time.time() >= ring_until - 0.6  # not before its time (the ticks run every 0.5 s)
    assert freed["call"] is None and freed["missed_in_row"] == 0  # not the agent's miss
    log = (await app.api("GET", "/api/agents/1001/states"))["transitions"]
    assert (log[-1]["new"], log[-1]["reason"], log[-1]["linkedid"]) == (
        "available",
        "offer-expired",
        "1700000000.99",
    )
    alerts = (await app.api("GET", "/api/alerts"))["alerts"]
    assert [a["kind"] for a in alerts] == ["offer-expired"]

    # The agent takes real calls again.
    caller = await softphones("2001")
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 15)
    await app.wait_state("1001", "on_call", 10)
    await caller.hangup()
