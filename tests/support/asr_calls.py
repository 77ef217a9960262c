"""Answered calls with the dialplan's four recordings, stored (and sampled) for the ASR tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.calls.record import CallRecord, Direction, Outcome, Party, RecordingSegment
from callcenter.calls.store import CallRepository
from callcenter.qa.tables import samples_table
from tests.support.audio import silence_wav

T0 = 1_763_000_000.0
GREETING = "您好客服部工号1001"  # the scripted engine says the file's stem


def make_call(
    linkedid: str,
    recordings: Path | None,
    *,
    agent_file: str = GREETING,
    caller_file: str = "customer",
    final: bool = True,
) -> CallRecord:
    """An answered call with the dialplan's four files; WAVs written for the voice legs."""
    uid = f"{linkedid[:-2]}.9"
    day = f"2025/11/13/{linkedid}"
    legs = {
        "caller": f"{day}/{linkedid}-caller.wav",
        "agent": f"{day}/{uid}-agent.wav",
        "agent-voice": f"{day}/{agent_file}.wav",
        "customer-voice": f"{day}/{caller_file}.wav",
    }
    if recordings is not None:
        for leg in ("agent-voice", "customer-voice"):
            if not legs[leg].endswith("missing.wav"):
                silence_wav(recordings / legs[leg], 0.5)
    segments = tuple(
        RecordingSegment(linkedid, linkedid if leg == "caller" else uid, leg, path, T0 + 5)
        for leg, path in legs.items()
    )
    return CallRecord(
        linkedid=linkedid,
        direction=Direction.INBOUND,
        caller_number="13800138000",
        caller_name=None,
        dialled_number="600",
        queue="support",
        arrived_at=T0,
        answered_at=T0 + 5,
        ended_at=T0 + 65 if final else None,
        answer_seconds=5.0,
        rings_to_answer=1,
        answered_by=Party.AGENT,
        agent="1001",
        agent_name="Agent 1001",
        hold_seconds=5.0,
        talk_seconds=60.0,
        hangup_first=Party.CALLER,
        outcome=Outcome.ANSWERED,
        recordings=segments,
    )


async def store(
    sessions: async_sessionmaker[AsyncSession], *calls: CallRecord, sampled: tuple[str, ...] = ()
) -> None:
    repository = CallRepository(sessions)
    await repository.upsert_calls(list(calls))
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        for linkedid in sampled:
            await session.execute(
                sa.insert(samples_table).values(
                    linkedid=linkedid,
                    month="2025-11",
                    agent="1001",
                    reason="random",
                    reasons=["random"],
                    created_at=now,
                )
            )
