"""Answered calls of November 2026 with one recorded agent leg, as the QA tests draw them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.calls.record import CallRecord, Direction, Outcome, Party, RecordingSegment
from callcenter.qa.tables import assignments_table, samples_table

# November 2026, UTC: weeks 45-49, times spread over the day.
NOV = datetime(2026, 11, 2, tzinfo=UTC).timestamp()


def call(linkedid: str, agent: str, at: float, talk: float = 120.0) -> CallRecord:
    segment = RecordingSegment(
        linkedid, linkedid, "agent", f"2026/11/{linkedid}/{linkedid}-agent.wav", at
    )
    return CallRecord(
        linkedid=linkedid,
        direction=Direction.INBOUND,
        caller_number="13800138000",
        caller_name=None,
        dialled_number="600",
        queue="support",
        arrived_at=at,
        answered_at=at + 3,
        ended_at=at + 3 + talk,
        answer_seconds=3.0,
        rings_to_answer=1,
        answered_by=Party.AGENT,
        agent=agent,
        agent_name=None,
        hold_seconds=None,
        talk_seconds=talk,
        hangup_first=Party.CALLER,
        outcome=Outcome.ANSWERED,
        recordings=(segment,),
    )


async def assign_sample(
    session: AsyncSession,
    linkedid: str,
    agent: str,
    inspector: str,
    *,
    user_id: int | None = None,
    due_in: timedelta = timedelta(days=7),
) -> int:
    """A random sample of `linkedid` (this month) assigned to `inspector`: the rows the
    draw and the assignment would write, made directly; returns the sample id."""
    now = datetime.now(UTC)
    sample_id: int = (
        await session.execute(
            sa.insert(samples_table)
            .values(
                linkedid=linkedid,
                month=now.strftime("%Y-%m"),
                agent=agent,
                reason="random",
                reasons=["random"],
                created_at=now,
            )
            .returning(samples_table.c.id)
        )
    ).scalar_one()
    await session.execute(
        sa.insert(assignments_table).values(
            sample_id=sample_id,
            inspector=inspector,
            inspector_user_id=user_id,
            calibration=False,
            due_at=now + due_in,
            assigned_at=now,
            assigned_by="test",
        )
    )
    return sample_id
