"""Issue 19: a local process forging FastAGI requests changes nothing; Asterisk's own
requests (the per-install key in the rendered dialplan) still route calls."""

from __future__ import annotations

import time
from typing import Any

import pytest

from callcenter.agents.keys import AGENT_REPOSITORY
from callcenter.kernel.web.keys import AGI
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.fastagi import send_agi

pytestmark = pytest.mark.asterisk


async def _observed(app: Any, case_id: int) -> dict[str, Any]:
    """What a forged request would change: agent states, callbacks, surveys, the case."""
    agents = (await app.api("GET", "/api/agents"))["agents"]
    callbacks = (await app.api("GET", "/api/callbacks"))["callbacks"]
    surveys = (await app.api("GET", "/api/surveys"))["surveys"]
    cases = (await app.api("GET", "/api/cases"))["cases"]
    return {
        "agents": {a["staff_no"]: a["state"] for a in agents},
        "callbacks": sorted((c["number"], c["purpose"]) for c in callbacks),
        "surveys": len(surveys),
        "case": next(c["status"] for c in cases if c["id"] == case_id),
    }


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_forged_requests_without_the_key_change_nothing_while_real_calls_route(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app = await routed(callbacks={"enabled": False})  # nothing dials the callbacks here
    server = app.app[AGI]
    key = app.config.router.agi_key
    await app.agent("1001", login=False)
    await softphones("1001")
    await app.api("POST", "/api/agents/1001/login")
    now = time.time()
    case = await app.app[AGENT_REPOSITORY].open_case(
        "complaint", "2004", "1001", "forged survey target", now, now + 48 * 3600
    )
    follow_up = await app.api(
        "POST", "/api/callbacks", 201, number="2004", purpose="follow-up", case_id=case.id
    )
    before = await _observed(app, case.id)
    assert before == {
        "agents": {"1001": "available"},
        "callbacks": [("2004", "follow-up")],
        "surveys": 0,
        "case": "open",
    }

    # What the attacker sent, as user nobody: without the key, then with a guess.
    route = ["1800000000.1", "2002", f"{now:.3f}", "support", "", "", "0"]
    callback = ["1800000000.2", "2003", "press-1"]
    survey = [str(follow_up["id"]), "1", "1800000000.3"]
    for query in ("", "?key=", "?key=not-the-key-0123456789abcdef0123456789ab"):
        for script, args in (("route", route), ("callback", callback), ("survey", survey)):
            assert await send_agi(server.port, script + query, args) == [], (script, query)
    assert server.refused == 9
    assert server.requests == 0
    assert await _observed(app, case.id) == before
    metrics = await (await app.client.get("/metrics")).text()
    assert "callcenter_fastagi_refused_total 9.0" in metrics.splitlines()

    # Asterisk's own request carries the key from the rendered dialplan: the call routes.
    caller = await softphones("2001")
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 15)
    await app.wait_state("1001", "on_call", 5)
    await caller.hangup()
    (record,) = await app.calls(1)
    assert record.agent == "1001"
    assert server.requests >= 2  # route, then connected
    assert server.refused == 9

    # The same forged survey and callback with the key do what the attacker wanted:
    # the refusals above were the key's doing, not the requests' shape.
    assert await send_agi(server.port, f"survey?key={key}", survey) == [
        'SET VARIABLE CC_SURVEY_STORED "satisfied"'
    ]
    assert await send_agi(server.port, f"callback?key={key}", callback) == [
        'SET VARIABLE CC_CALLBACK "stored"'
    ]
    after = await _observed(app, case.id)
    assert (after["surveys"], after["case"]) == (1, "closed")
    assert ("2003", "press-1") in after["callbacks"]
