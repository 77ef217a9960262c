"""End to end: real Asterisk, real softphones, the live pipeline, SQLite and PostgreSQL.

Callers are baresip softphones dialling the inbound number; agents are
baresip softphones in the queue, auto-answering with a WAV as microphone.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.pipeline import LivePipeline
from tests.support.tcp_proxy import TcpProxy
from tests.support.traffic import in_queue, talk

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def pipeline(
    asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path
) -> AsyncIterator[LivePipeline]:
    live = LivePipeline(asterisk.config, migrated_db_url, tmp_path / "spool.jsonl")
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


def _has_audio(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 44


async def assert_recorded(asterisk: TestAsterisk, record: CallRecord) -> None:
    legs = sorted(r.leg for r in record.recordings)
    # Mixed on each side, and each party's own voice (kept apart for QA checks).
    assert legs == ["agent", "agent-voice", "caller", "customer-voice"], record
    for segment in record.recordings:
        assert segment.linkedid == record.linkedid
        assert f"/{record.linkedid}/" in f"/{segment.path}"
        path = asterisk.recordings_dir / segment.path
        for _ in range(50):
            if _has_audio(path):
                break
            await asyncio.sleep(0.1)
        assert _has_audio(path), f"recording {path} missing or empty"


async def test_given_two_agents_when_three_calls_come_in_then_three_records_are_stored(
    asterisk: TestAsterisk, softphones: PhonePool, pipeline: LivePipeline
) -> None:
    await softphones("1001")
    await softphones("1002")
    callers = [await softphones(user) for user in ("2001", "2002", "2003")]
    number = asterisk.config.asterisk.inbound_number
    async with in_queue(asterisk, "1001", "1002"):
        # Two at once, then a third when an agent is free again.
        await asyncio.gather(talk(callers[0], number, 2.0), talk(callers[1], number, 3.0))
        await talk(callers[2], number, 2.0)
        records = await pipeline.wait_for_calls(3)

    assert len(records) == 3
    assert len({r.linkedid for r in records}) == 3
    by_caller = {r.caller_number: r for r in records}
    assert set(by_caller) == {"2001", "2002", "2003"}
    for record in records:
        assert record.direction is Direction.INBOUND
        assert record.outcome is Outcome.ANSWERED
        assert record.answered_by is Party.AGENT
        assert record.agent in {"1001", "1002"}
        assert record.queue == "support"
        assert record.dialled_number == number
        assert record.arrived_at is not None and record.answered_at is not None
        assert record.ended_at is not None
        assert record.arrived_at <= record.answered_at < record.ended_at
        assert record.answer_seconds is not None and record.answer_seconds < 15
        assert record.rings_to_answer is not None and record.rings_to_answer <= 3
        assert record.hangup_first is Party.CALLER
        assert record.notes == ()
        await assert_recorded(asterisk, record)
    # The two simultaneous calls went to different agents.
    assert by_caller["2001"].agent != by_caller["2002"].agent
    assert by_caller["2002"].talk_seconds is not None
    assert 2.5 <= by_caller["2002"].talk_seconds <= 5.0


async def test_given_no_agent_answers_when_caller_hangs_up_then_abandoned(
    asterisk: TestAsterisk, softphones: PhonePool, pipeline: LivePipeline
) -> None:
    agent = await softphones("1003", auto_answer=False)
    caller = await softphones("2004")
    async with in_queue(asterisk, "1003"):
        await caller.dial(asterisk.config.asterisk.inbound_number)
        await agent.wait_event("CALL_INCOMING", 10)
        await asyncio.sleep(3)
        await caller.hangup()
        (record,) = await pipeline.wait_for_calls(1)

    assert record.outcome is Outcome.ABANDONED
    assert record.caller_number == "2004"
    assert record.answered_at is None and record.answered_by is None
    assert record.agent is None
    assert record.hangup_first is Party.CALLER
    assert record.arrived_at is not None and record.ended_at is not None
    assert 2.5 <= record.ended_at - record.arrived_at <= 8


async def test_given_short_agent_audio_when_agent_hangs_up_first_then_recorded_as_agent(
    asterisk: TestAsterisk, softphones: PhonePool, pipeline: LivePipeline
) -> None:
    await softphones("1004", wav_seconds=3)  # baresip hangs up when its WAV ends
    caller = await softphones("2001")
    async with in_queue(asterisk, "1004"):
        await caller.dial(asterisk.config.asterisk.inbound_number)
        await caller.wait_event("CALL_ESTABLISHED", 15)
        await caller.wait_event("CALL_CLOSED", 15)
        (record,) = await pipeline.wait_for_calls(1)

    assert record.outcome is Outcome.ANSWERED
    assert record.agent == "1004"
    assert record.hangup_first is Party.AGENT
    assert record.talk_seconds is not None and 1.5 <= record.talk_seconds <= 6
    await assert_recorded(asterisk, record)


async def test_given_ami_link_cut_when_call_ends_unseen_then_resync_logs_it_once(
    asterisk: TestAsterisk, softphones: PhonePool, migrated_db_url: str, tmp_path: Path
) -> None:
    proxy = TcpProxy(asterisk.ami_host, asterisk.ami_port)
    await proxy.start()
    config = dataclasses.replace(
        asterisk.config, ami=dataclasses.replace(asterisk.config.ami, port=proxy.port)
    )
    live = LivePipeline(config, migrated_db_url, tmp_path / "spool.jsonl")
    await live.start()
    try:
        await softphones("1001")
        caller = await softphones("2001")
        async with in_queue(asterisk, "1001"):
            await caller.dial(asterisk.config.asterisk.inbound_number)
            await caller.wait_event("CALL_ESTABLISHED", 15)
            await asyncio.sleep(1)
            await proxy.cut()  # the backend stops hearing Asterisk
            await caller.hangup()
            await caller.wait_event("CALL_CLOSED", 10)
            await asyncio.sleep(1)
            assert not live.client.connected
            assert live.tracker.open_calls == 1  # it cannot know yet
            await proxy.restore()
            (record,) = await live.wait_for_calls(1)
    finally:
        await live.stop()
        await proxy.close()

    assert record.outcome is Outcome.ANSWERED
    assert record.agent == "1001"
    assert record.caller_number == "2001"
    assert "ended-while-disconnected" in record.notes
    assert record.ended_at is not None and record.answered_at is not None
    assert live.client.reconnects >= 1


async def test_given_graceful_asterisk_restart_mid_call_then_the_call_is_logged_once(
    asterisk: TestAsterisk, softphones: PhonePool, pipeline: LivePipeline
) -> None:
    await softphones("1002")
    caller = await softphones("2002")
    async with in_queue(asterisk, "1002"):
        await caller.dial(asterisk.config.asterisk.inbound_number)
        await caller.wait_event("CALL_ESTABLISHED", 15)
        await asyncio.sleep(1)
        # `core stop now` hangs channels up and says so over AMI before it goes.
        await asyncio.to_thread(asterisk.restart)
        records = await pipeline.wait_for_calls(1, within=30)
        await pipeline.client.wait_connected(15)
        await asyncio.sleep(1)
        records = await pipeline.wait_for_calls(1)

    assert len(records) == 1
    (record,) = records
    assert record.outcome is Outcome.ANSWERED
    assert record.agent == "1002"
    assert record.ended_at is not None


async def test_given_asterisk_killed_mid_call_then_call_is_closed_once_and_logging_resumes(
    asterisk: TestAsterisk, softphones: PhonePool, pipeline: LivePipeline
) -> None:
    await softphones("1003")
    caller = await softphones("2003")
    number = asterisk.config.asterisk.inbound_number
    async with in_queue(asterisk, "1003", "1004"):
        await caller.dial(number)
        await caller.wait_event("CALL_ESTABLISHED", 15)
        await asyncio.sleep(1)
        await asyncio.to_thread(asterisk.kill)  # no Hangup events: Asterisk just dies
        await asyncio.sleep(1)
        assert not pipeline.client.connected
        assert pipeline.tracker.open_calls == 1
        await asyncio.to_thread(asterisk.start)
        (interrupted,) = await pipeline.wait_for_calls(1, within=30)
        assert pipeline.service.restarts_seen == 1
        assert interrupted.outcome is Outcome.ANSWERED
        assert interrupted.agent == "1003"
        assert "asterisk-restart" in interrupted.notes
        # After the restart the next call is logged as usual (fresh phones: the old
        # ones still hold the dead call).
        await softphones("1004")
        caller_after = await softphones("2004")
        await talk(caller_after, number, 1.5)
        records = await pipeline.wait_for_calls(2, within=30)

    assert len(records) == 2
    after = next(r for r in records if r.linkedid != interrupted.linkedid)
    assert after.outcome is Outcome.ANSWERED
    assert after.caller_number == "2004"
    assert after.agent == "1004"
    assert after.notes == ()
