"""Record AMI transcripts of router-era calls for the dashboard's metric definitions.

    .venv/bin/python -m tests.support.record_dashboard_transcripts tests/fixtures/ami/dashboard

The whole app (router, FastAGI, dialplan) runs against the test Asterisk with
a short ring budget (3 rings x 2 s); a separate raw AMI connection saves every
byte Asterisk sends to `<scenario>.ami`, and `<scenario>.json` says what was
done on the phones. Scenarios the app_queue-era transcripts in
tests/fixtures/ami do not have:
- held_callback: nobody free, the system answers, the caller presses 1;
- held_abandon: nobody free, the system answers, the caller hangs up while held;
- held_then_agent: the system answers, an agent logs in and takes the held call;
- short_abandon: an agent's phone rings, the caller hangs up after about a second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from callcenter.config import RingConfig
from callcenter.kernel.migrate import upgrade_to_head
from tests.support.asterisk_fixtures import (
    PhonePool,
    TestAsterisk,
    make_test_config,
    start_test_asterisk,
    stop_test_asterisk,
)
from tests.support.raw_ami import RawAmi, settle
from tests.support.routed import RoutedApp, routed_config, start_routed

Scenario = Callable[[TestAsterisk, RoutedApp, PhonePool], Awaitable[dict[str, Any]]]


async def held_callback(
    asterisk: TestAsterisk, app: RoutedApp, phones: PhonePool
) -> dict[str, Any]:
    caller = await phones("2001")
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 20)  # the system answered
    await asyncio.sleep(2.0)
    await caller.send_dtmf("1")
    await caller.wait_event("CALL_CLOSED", 20)  # thanked and hung up by the system
    return {"caller_endpoint": "2001", "expected_outcome": "answered_by_system",
            "callback_requested": True, "expected_result": "callback"}  # fmt: skip


async def held_abandon(asterisk: TestAsterisk, app: RoutedApp, phones: PhonePool) -> dict[str, Any]:
    caller = await phones("2001")
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 20)
    await asyncio.sleep(3.0)  # holding, nobody free
    await caller.hangup()
    return {"caller_endpoint": "2001", "expected_outcome": "abandoned_after_system",
            "hung_up_first": "caller", "expected_result": "abandoned"}  # fmt: skip


async def held_then_agent(
    asterisk: TestAsterisk, app: RoutedApp, phones: PhonePool
) -> dict[str, Any]:
    await app.agent("1001", login=False)
    await phones("1001")
    caller = await phones("2001")
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 20)  # the system answered
    await asyncio.sleep(3.0)
    await app.api("POST", "/api/agents/1001/login")
    await app.wait_state("1001", "on_call", 20)
    await asyncio.sleep(3.0)
    await caller.hangup()
    return {"caller_endpoint": "2001", "agent_endpoint": "1001",
            "expected_outcome": "answered", "first_answer": "system",
            "expected_result": "handled", "agent_logged_in_after_seconds_approx": 3}  # fmt: skip


async def short_abandon(
    asterisk: TestAsterisk, app: RoutedApp, phones: PhonePool
) -> dict[str, Any]:
    agent = await phones("1002", auto_answer=False)
    await app.agent("1002")
    caller = await phones("2002")
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await agent.wait_event("CALL_INCOMING", 10)
    await asyncio.sleep(1.0)
    await caller.hangup()
    return {"caller_endpoint": "2002", "agent_endpoint": "1002", "agent_answers": False,
            "expected_outcome": "abandoned", "expected_result": "abandoned",
            "caller_waited_seconds_approx": 1.2}  # fmt: skip


SCENARIOS: dict[str, Scenario] = {
    "held_callback": held_callback,
    "held_abandon": held_abandon,
    "held_then_agent": held_then_agent,
    "short_abandon": short_abandon,
}


async def _record(asterisk: TestAsterisk, name: str, scenario: Scenario, out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"dash-{name}-"))
    db = f"sqlite+aiosqlite:///{work / 'calls.db'}"
    await upgrade_to_head(db)
    app = await start_routed(routed_config(asterisk, db, work))
    phones = PhonePool(asterisk, work / "phones")
    ami = RawAmi(asterisk.ami_host, asterisk.ami_port, asterisk.ami_user, asterisk.ami_secret)
    await ami.connect()
    try:
        sidecar = await scenario(asterisk, app, phones)
        await settle(ami, 1, within=60.0)
    finally:
        await phones.close()
        await ami.close()
        await app.client.close()
    sidecar = {
        "scenario": name,
        "asterisk": "22 (Debian unstable chroot), dialplans/ with the router (FastAGI)",
        "queue": "support",
        "inbound_number": asterisk.config.asterisk.inbound_number,
        "ring_cadence_seconds": asterisk.config.ring.cadence_seconds,
        "ring_budget_rings": asterisk.config.ring.budget_rings,
        **sidecar,
    }
    (out / f"{name}.ami").write_bytes(bytes(ami.raw))
    (out / f"{name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"{name}: {len(ami.raw)} bytes, {len(ami.events)} events")


async def _run_all(out: Path, link_root: Path, only: list[str]) -> None:
    config = make_test_config(link_root / "instance", ring=RingConfig(2.0, 3))
    config = dataclasses.replace(
        config, router=dataclasses.replace(config.router, min_ring=1.0, wrap_up_seconds=2.0)
    )
    asterisk = await asyncio.to_thread(start_test_asterisk, config)
    try:
        for name, scenario in SCENARIOS.items():
            if not only or name in only:
                await _record(asterisk, name, scenario, out)
    finally:
        await asyncio.to_thread(stop_test_asterisk, asterisk)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run_all(out, Path(tmp), argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
