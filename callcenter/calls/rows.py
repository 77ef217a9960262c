"""Call rows as call records: public, so that another feature's store that selects call rows
(joined with its own tables, read-only: recordings, reports) reads them the way this
feature does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from callcenter.calls.record import CallRecord, Direction, Outcome, Party, RecordingSegment
from callcenter.kernel.clock import to_epoch


def segment_from_row(row: sa.Row[Any]) -> RecordingSegment:
    return RecordingSegment(
        linkedid=row.linkedid,
        uniqueid=row.uniqueid,
        leg=row.leg,
        path=row.path,
        started_at=to_epoch(row.started_at),
    )


def record_from_row(row: sa.Row[Any], segments: Iterable[RecordingSegment]) -> CallRecord:
    return CallRecord(
        linkedid=row.linkedid,
        direction=Direction(row.direction),
        caller_number=row.caller_number,
        caller_name=row.caller_name,
        dialled_number=row.dialled_number,
        queue=row.queue,
        arrived_at=to_epoch(row.arrived_at),
        answered_at=to_epoch(row.answered_at),
        ended_at=to_epoch(row.ended_at),
        answer_seconds=row.answer_seconds,
        rings_to_answer=row.rings_to_answer,
        answered_by=None if row.answered_by is None else Party(row.answered_by),
        agent=row.agent,
        agent_name=row.agent_name,
        hold_seconds=row.hold_seconds,
        talk_seconds=row.talk_seconds,
        hangup_first=None if row.hangup_first is None else Party(row.hangup_first),
        outcome=Outcome(row.outcome),
        hangup_cause=row.hangup_cause,
        recordings=tuple(segments),
        notes=tuple(row.notes or ()),
        wait_seconds=row.wait_seconds,
        system_wait_seconds=row.system_wait_seconds,
    )
