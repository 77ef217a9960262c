"""Greeting-script facts on the real stack: dead air and who hung up first, per call."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.asterisk_fixtures import PhonePool, TestAsterisk

pytestmark = pytest.mark.asterisk


def _voice(path: Path, silence: float, speech: float) -> Path:
    """The agent's microphone: `silence` seconds, then `speech` seconds of a voice-level tone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed"]
    synth = ["synth", str(speech), "sine", "300", "vol", "0.3", "pad", str(silence), "0"]
    subprocess.run(["sox", "-n", *fmt, str(path), *synth], check=True, capture_output=True)
    return path


async def _facts(app: Any, linkedid: str) -> dict[str, Any]:
    for _ in range(60):
        response = await app.client.get(f"/api/calls/{linkedid}/compliance")
        if response.status == 200:
            return dict(await response.json())
        await asyncio.sleep(0.2)
    raise AssertionError(f"no compliance facts for call {linkedid}")


async def _one_call(caller: Any, number: str, talk: float) -> None:
    since = len(caller.events)
    await caller.dial(number)
    await caller.wait_event("CALL_ESTABLISHED", 20, since=since)
    try:
        await caller.wait_event("CALL_CLOSED", talk, since=since)  # the agent hung up
    except Exception:
        await caller.hangup()
        await caller.wait_event("CALL_CLOSED", 10, since=since)


async def test_prompt_agent_is_clean_and_silent_agent_who_hangs_up_first_is_flagged(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any, tmp_path: Path
) -> None:
    app = await routed(max_dead_air=3.0)
    number = asterisk.config.asterisk.inbound_number
    # 1001 speaks at once and for long: the caller ends the call.
    await softphones("1001", wav=_voice(tmp_path / "prompt.wav", 0.0, 40.0))
    await app.agent("1001")
    caller = await softphones("2001")
    await _one_call(caller, number, 8.0)
    (first,) = await app.calls(1)
    facts = await _facts(app, first.linkedid)
    assert facts["staff_no"] == "1001"
    assert facts["dead_air_seconds"] is not None and facts["dead_air_seconds"] < 1.0
    assert facts["agent_hung_up_first"] is False
    assert facts["flags"] == []

    # 1002 stays silent for 10 s after answering, then hangs up before the caller.
    await app.api("POST", "/api/agents/1001/pause", reason="break")
    await softphones("1002", wav=_voice(tmp_path / "silent.wav", 10.0, 3.0))
    await app.agent("1002")
    await _one_call(caller, number, 30.0)
    second = (await app.calls(2))[1]
    assert second.agent == "1002"
    facts = await _facts(app, second.linkedid)
    # The announcement (about 3 s) plays before the bridge; the rest is dead air.
    assert facts["dead_air_seconds"] is not None and 4.0 < facts["dead_air_seconds"] < 9.0
    assert facts["agent_hung_up_first"] is True
    assert set(facts["flags"]) == {"dead-air", "agent-hung-up-first"}
