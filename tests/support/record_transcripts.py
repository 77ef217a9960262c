"""Record raw AMI transcripts of real queue calls for replay tests.

    .venv/bin/python -m tests.support.record_transcripts tests/fixtures/ami

Starts the test Asterisk instance and baresip softphones, and for each
scenario opens a fresh AMI connection and saves every byte received (banner,
responses, events) to `<scenario>.ami`, plus `<scenario>.json` saying what
was done and what the call record should say, and `<scenario>.cel.jsonl`, the
CEL lines (the durable trail) Asterisk wrote for the same calls.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from callcenter.config import RingConfig
from tests.support.asterisk_fixtures import (
    PhonePool,
    TestAsterisk,
    make_test_config,
    start_test_asterisk,
    stop_test_asterisk,
)
from tests.support.raw_ami import RawAmi, settle

Scenario = Callable[[TestAsterisk, RawAmi, PhonePool], Awaitable[dict[str, Any]]]
INBOUND = "600"


async def _members(ami: RawAmi, *agents: str) -> None:
    for agent in agents:
        await ami.action("QueueAdd", Queue="support", Interface=f"PJSIP/{agent}")


async def _remove_members(ami: RawAmi, *agents: str) -> None:
    for agent in agents:
        await ami.action("QueueRemove", Queue="support", Interface=f"PJSIP/{agent}")


async def answered_caller_hangs_up(
    asterisk: TestAsterisk, ami: RawAmi, phones: PhonePool
) -> dict[str, Any]:
    agent = await phones("1001")
    caller = await phones("2001")
    await _members(ami, "1001")
    await caller.dial(INBOUND)
    await caller.wait_event("CALL_ESTABLISHED", 20)
    await asyncio.sleep(3)
    await caller.hangup()
    await settle(ami, 1)
    await _remove_members(ami, "1001")
    await agent.stop()
    return {
        "caller_endpoint": "2001",
        "agent_endpoint": "1001",
        "hung_up_first": "caller",
        "talk_seconds_approx": 3,
        "expected_outcome": "answered",
    }


async def answered_agent_hangs_up(
    asterisk: TestAsterisk, ami: RawAmi, phones: PhonePool
) -> dict[str, Any]:
    # baresip hangs up when its microphone WAV ends: the agent's is 4 s long.
    agent = await phones("1001", wav_seconds=4)
    caller = await phones("2001")
    await _members(ami, "1001")
    await caller.dial(INBOUND)
    await caller.wait_event("CALL_ESTABLISHED", 20)
    await caller.wait_event("CALL_CLOSED", 20)
    await settle(ami, 1)
    await _remove_members(ami, "1001")
    await agent.stop()
    return {
        "caller_endpoint": "2001",
        "agent_endpoint": "1001",
        "hung_up_first": "agent",
        "agent_wav_seconds": 4,
        "expected_outcome": "answered",
    }


async def abandoned(asterisk: TestAsterisk, ami: RawAmi, phones: PhonePool) -> dict[str, Any]:
    agent = await phones("1001", auto_answer=False)
    caller = await phones("2001")
    await _members(ami, "1001")
    await caller.dial(INBOUND)
    await agent.wait_event("CALL_INCOMING", 10)
    await asyncio.sleep(4)
    await caller.hangup()
    await settle(ami, 1)
    await _remove_members(ami, "1001")
    await agent.stop()
    return {
        "caller_endpoint": "2001",
        "agent_endpoint": "1001",
        "agent_answers": False,
        "hung_up_first": "caller",
        "caller_waited_seconds_approx": 4,
        "expected_outcome": "abandoned",
    }


async def system_answered(asterisk: TestAsterisk, ami: RawAmi, phones: PhonePool) -> dict[str, Any]:
    agent = await phones("1001", auto_answer=False)
    caller = await phones("2001")
    await _members(ami, "1001")
    await caller.dial(INBOUND)
    # The system answers after the budget, plays the greeting and hangs up.
    await caller.wait_event("CALL_CLOSED", 40)
    await settle(ami, 1)
    await _remove_members(ami, "1001")
    await agent.stop()
    return {
        "caller_endpoint": "2001",
        "agent_endpoint": "1001",
        "agent_answers": False,
        "ring_budget_seconds": asterisk.config.ring.budget_seconds,
        "note": "recorded with a shorter ring budget than the 15 s default",
        "hung_up_first": "system",
        "expected_outcome": "answered_by_system",
    }


async def two_calls_two_agents(
    asterisk: TestAsterisk, ami: RawAmi, phones: PhonePool
) -> dict[str, Any]:
    agents = [await phones("1001"), await phones("1002")]
    callers = [await phones("2001"), await phones("2002")]
    await _members(ami, "1001", "1002")
    await asyncio.gather(*(c.dial(INBOUND) for c in callers))
    await asyncio.gather(*(c.wait_event("CALL_ESTABLISHED", 20) for c in callers))
    await asyncio.sleep(3)
    await asyncio.gather(*(c.hangup() for c in callers))
    await settle(ami, 2)
    await _remove_members(ami, "1001", "1002")
    for agent in agents:
        await agent.stop()
    return {
        "caller_endpoints": ["2001", "2002"],
        "agent_endpoints": ["1001", "1002"],
        "hung_up_first": "caller",
        "expected_outcome": ["answered", "answered"],
        "note": "both callers dial at the same time; which agent takes which caller varies",
    }


DEFAULT_BUDGET: dict[str, Scenario] = {
    "answered_caller_hangs_up": answered_caller_hangs_up,
    "answered_agent_hangs_up": answered_agent_hangs_up,
    "abandoned": abandoned,
    "two_calls_two_agents": two_calls_two_agents,
}
SHORT_BUDGET: dict[str, Scenario] = {"system_answered": system_answered}


async def _record(asterisk: TestAsterisk, name: str, scenario: Scenario, out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"phones-{name}-"))
    phones = PhonePool(asterisk, work)
    ami = RawAmi(asterisk.ami_host, asterisk.ami_port, asterisk.ami_user, asterisk.ami_secret)
    cel = asterisk.instance.log_dir / "cel.jsonl"
    cel_start = cel.stat().st_size if cel.exists() else 0
    await ami.connect()
    try:
        sidecar = await scenario(asterisk, ami, phones)
    finally:
        await phones.close()
        await ami.close()
    # The durable trail Asterisk wrote for the same calls (see dialplans/cel.conf).
    with cel.open("rb") as trail:
        trail.seek(cel_start)
        (out / f"{name}.cel.jsonl").write_bytes(trail.read())
    sidecar = {
        "scenario": name,
        "asterisk": "22 (Debian unstable chroot), manager.conf from dialplans/",
        "queue": "support",
        "inbound_number": INBOUND,
        "ring_budget_seconds": asterisk.config.ring.budget_seconds,
        **sidecar,
    }
    (out / f"{name}.ami").write_bytes(bytes(ami.raw))
    (out / f"{name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"{name}: {len(ami.raw)} bytes, {len(ami.events)} events")


async def _run_all(out: Path, link_root: Path) -> None:
    for budget, scenarios in ((None, DEFAULT_BUDGET), (RingConfig(2.0, 3), SHORT_BUDGET)):
        config = make_test_config(link_root / "instance", ring=budget)
        asterisk = await asyncio.to_thread(start_test_asterisk, config)
        try:
            for name, scenario in scenarios.items():
                await _record(asterisk, name, scenario, out)
        finally:
            await asyncio.to_thread(stop_test_asterisk, asterisk)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run_all(out, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
