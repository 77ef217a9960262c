"""Call records built whole, for the tests that store or read them."""

from __future__ import annotations

import dataclasses

from callcenter.calls.record import CallRecord, Direction, Outcome, Party, RecordingSegment

T0 = 1_700_000_000.123456  # microsecond precision, as Asterisk's Timestamp header


def make_record(
    linkedid: str = "1700000000.1",
    *,
    arrived_at: float | None = T0,
    outcome: Outcome = Outcome.ANSWERED,
    recordings: int = 2,
    **changes: object,
) -> CallRecord:
    segments = tuple(
        RecordingSegment(
            linkedid=linkedid,
            uniqueid=f"{linkedid}-{leg}",
            leg=leg,
            path=f"2023/11/14/{linkedid}-{leg}.wav",
            started_at=None if arrived_at is None else arrived_at + 4.5 + i,
        )
        for i, leg in enumerate(("caller", "agent")[:recordings])
    )
    record = CallRecord(
        linkedid=linkedid,
        direction=Direction.INBOUND,
        caller_number="+4930123456",
        caller_name="Ada Lovelace",
        dialled_number="600",
        queue="support",
        arrived_at=arrived_at,
        answered_at=None if arrived_at is None else arrived_at + 4.25,
        ended_at=None if arrived_at is None else arrived_at + 64.5,
        answer_seconds=4.25,
        rings_to_answer=1,
        answered_by=Party.AGENT,
        agent="201",
        agent_name="Grace",
        hold_seconds=3.0,
        talk_seconds=57.25,
        hangup_first=Party.CALLER,
        outcome=outcome,
        hangup_cause=16,
        recordings=segments,
        notes=("resync-missing",),
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]
