"""Answered calls of November 2026 with one recorded agent leg, as the QA tests draw them."""

from __future__ import annotations

from datetime import UTC, datetime

from callcenter.calls.record import CallRecord, Direction, Outcome, Party, RecordingSegment

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
