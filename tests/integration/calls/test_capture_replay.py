"""`ami capture` records what the live service sees; `ami replay` gives back the same calls."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from callcenter.calls.record import CallRecord
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.cli import run_cli_async
from tests.support.pipeline import LivePipeline
from tests.support.traffic import in_queue, talk

pytestmark = pytest.mark.asterisk


async def test_capture_of_live_calls_replays_to_the_records_the_live_service_wrote(
    asterisk: TestAsterisk,
    softphones: PhonePool,
    migrated_db_url: str,
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "CALLCENTER_STATE_DIR": str(tmp_path / "state"),
        "CALLCENTER_AMI_PORT": str(asterisk.ami_port),
        "CALLCENTER_AMI_SECRET": asterisk.ami_secret,
    }
    capture = tmp_path / "capture.ami"
    live = LivePipeline(asterisk.config, migrated_db_url, tmp_path / "spool.jsonl")
    await live.start()
    try:
        await softphones("1001", wav_seconds=3)  # this agent hangs up first
        await softphones("1002")
        first, second = await softphones("2001"), await softphones("2002")
        recorder = asyncio.create_task(
            run_cli_async("ami", "capture", "--out", str(capture), "--seconds", "14", env=env)
        )
        await asyncio.sleep(2)  # logged in and listening
        async with in_queue(asterisk, "1001", "1002"):
            await first.dial(asterisk.config.asterisk.inbound_number)
            await first.wait_event("CALL_ESTABLISHED", 15)
            await talk(second, asterisk.config.asterisk.inbound_number, 2.0)
            await first.wait_event("CALL_CLOSED", 15)
            stored = await live.wait_for_calls(2)
        code, _, err = await recorder
    finally:
        await live.stop()
    assert code == 0, err
    assert capture.read_bytes().startswith(b"Asterisk Call Manager/")

    code, out, err = await run_cli_async("ami", "replay", str(capture), env=env)
    assert code == 0, err
    replayed = [CallRecord.from_json(json.loads(line)) for line in out.splitlines()]
    assert sorted(replayed, key=lambda r: r.linkedid) == sorted(stored, key=lambda r: r.linkedid)
    assert {r.hangup_first.value for r in replayed if r.hangup_first} == {"agent", "caller"}
