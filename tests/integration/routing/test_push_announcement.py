"""The staff-number announcement on the real stack: a recorded one uploaded (CLI and API),
what bad uploads get, and that its playing never counts against the caller's ring budget.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from callcenter.asterisk.prompts import MAX_STAFF_PROMPT_SECONDS
from callcenter.calls.record import Outcome, Party
from tests.support.asterisk_fixtures import TEST_API_TOKEN, PhonePool, TestAsterisk
from tests.support.cli import cli_env, run_cli_async

pytestmark = pytest.mark.asterisk


def _tone(path: Path, seconds: float, *, lead: float = 0.0) -> Path:
    """A 44.1 kHz stereo tone (not Asterisk's format: the upload converts it)."""
    fmt = ["-r", "44100", "-c", "2", "-b", "16"]
    subprocess.run(
        ["sox", "-n", *fmt, str(path), "synth", str(seconds), "sine", "440", "pad", str(lead)],
        check=True,
        capture_output=True,
    )
    return path


def _silence(path: Path, seconds: float) -> Path:
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "trim", "0", str(seconds)],
        check=True,
        capture_output=True,
    )
    return path


async def _put(app: Any, staff_no: str, body: bytes) -> tuple[int, dict[str, Any]]:
    response = await app.client.put(
        f"/api/agents/{staff_no}/prompt", data=body, headers={"Content-Type": "audio/wav"}
    )
    return response.status, await response.json()


async def test_a_recorded_announcement_is_uploaded_by_cli_and_api_and_bad_ones_refused(
    asterisk: TestAsterisk, routed: Any, migrated_db_url: str, tmp_path: Path
) -> None:
    app = await routed()
    await app.agent("1001", login=False)
    prompts = asterisk.instance.sounds_host_dir / "agents"
    generated = (prompts / "1001.wav").read_bytes()

    # The CLI, through the running service: a 44.1 kHz stereo WAV with a silent lead-in.
    wav = _tone(tmp_path / "mine.wav", 1.2, lead=0.5)
    env = cli_env(tmp_path, migrated_db_url, CALLCENTER_API_TOKEN=TEST_API_TOKEN)
    base = str(app.client.make_url("/")).rstrip("/")
    code, out, err = await run_cli_async(
        "agent", "--url", base, "prompt", "1001", str(wav), env=env
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["prompt"]["source"] == "recorded"
    assert answer["prompt"]["seconds"] == pytest.approx(1.2, abs=0.08)  # lead-in trimmed
    recorded = prompts / "recorded" / "1001.wav"
    assert recorded.is_file()
    assert (prompts / "1001.wav").read_bytes() == generated  # kept for a later --remove

    # Too long, not audio, unknown agent: clear refusals, the stored recording untouched.
    status, body = await _put(app, "1001", _tone(tmp_path / "long.wav", 2.0).read_bytes())
    assert (status, body["error_id"]) == (400, "prompt-too-long")
    assert body["details"]["seconds"] > MAX_STAFF_PROMPT_SECONDS
    status, body = await _put(app, "1001", b"just some text, not a recording")
    assert (status, body["error_id"]) == (400, "prompt-not-audio")
    status, body = await _put(app, "4242", wav.read_bytes())
    assert (status, body["error_id"]) == (404, "unknown-agent")
    assert answer["prompt"]["seconds"] == pytest.approx(
        (await _put(app, "1001", wav.read_bytes()))[1]["prompt"]["seconds"]
    )
    code, _, err = await run_cli_async(
        "agent", "--url", base, "prompt", "1001", str(tmp_path / "nope.wav"), env=env
    )
    assert code == 2 and "nope.wav" in err

    # Removed: the generated announcement plays again.
    code, out, err = await run_cli_async(
        "agent", "--url", base, "prompt", "1001", "--remove", env=env
    )
    assert code == 0, err
    assert json.loads(out)["prompt"]["source"] == "generated"
    assert not recorded.exists()
    response = await app.client.delete("/api/agents/1001/prompt")
    assert (response.status, (await response.json())["error_id"]) == (404, "no-recorded-prompt")


async def test_the_announcement_never_counts_against_the_ring_budget(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any, tmp_path: Path
) -> None:
    """The agent picks up shortly before the budget runs out; the announcement (nearly the
    1.5 s allowed) then plays past it. The call is the agent's, answered within budget: no
    system answer, and the record's answer time is the agent's pick-up."""
    app = await routed()
    budget = asterisk.config.ring.budget_seconds
    await app.agent("1001", login=False)
    status, _ = await _put(app, "1001", _tone(tmp_path / "p.wav", 1.45).read_bytes())
    assert status == 200
    agent = await softphones("1001", auto_answer=False, wav=_silence(tmp_path / "q.wav", 30))
    await app.api("POST", "/api/agents/1001/login")
    caller = await softphones("2001")
    async with asterisk.ami() as ami:
        since = len(ami.events)
        await caller.dial(asterisk.config.asterisk.inbound_number)
        arrived = await ami.wait_event(
            "Newchannel", 10, since=since, where=lambda e: e.get("CallerIDNum") == "2001"
        )
        arrived_at = float(arrived["Timestamp"])
        await agent.wait_event("CALL_INCOMING", 10)
        # Pick up 1.1 s before the budget ends: the announcement ends ~0.35 s after it.
        await asyncio.sleep(max(0.0, arrived_at + budget - 1.1 - time.time()))
        await agent.answer()
        up = await ami.wait_event(
            "Newstate",
            10,
            since=since,
            where=lambda e: (
                e.get("Channel") == arrived["Channel"] and e.get("ChannelStateDesc") == "Up"
            ),
        )
        await caller.wait_event("CALL_ESTABLISHED", 10)
        # The caller's channel is answered when the bridge comes, after the announcement:
        # past the budget, so counting the announcement would have broken the promise.
        assert float(up["Timestamp"]) - arrived_at > budget, (arrived_at, up)
        await asyncio.sleep(1.0)
        await caller.hangup()
        system = [
            e
            for e in ami.events[since:]
            if e.get("UserEvent") == "SystemAnswer" and e.get("Channel") == arrived["Channel"]
        ]
        assert system == []
    (record,) = await app.calls(1)
    assert record.outcome is Outcome.ANSWERED
    assert record.answered_by is Party.AGENT and record.agent == "1001"
    assert record.answer_seconds is not None
    assert budget - 1.5 < record.answer_seconds <= budget, record
