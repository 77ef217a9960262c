"""The call log's tables: one row per call (linkedid) and its recording segments."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.calls.record import MAX_NUMBER_LENGTH
from callcenter.kernel.db import ENUM_LENGTH, Base, BigId


class CallRow(Base):
    """One finished call per Asterisk linkedid; a later version overwrites the row."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    direction: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    # Indexed for screen pops: a caller's history while the phone rings (inbound by the
    # caller's number, outbound by the number dialled).
    caller_number: Mapped[str | None] = mapped_column(sa.String(MAX_NUMBER_LENGTH), index=True)
    caller_name: Mapped[str | None] = mapped_column(sa.Text)
    dialled_number: Mapped[str | None] = mapped_column(sa.String(MAX_NUMBER_LENGTH), index=True)
    queue: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    arrived_at: Mapped[datetime | None] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    answer_seconds: Mapped[float | None] = mapped_column(sa.Float)
    rings_to_answer: Mapped[int | None] = mapped_column(sa.Integer)
    answered_by: Mapped[str | None] = mapped_column(sa.String(ENUM_LENGTH))
    agent: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    agent_name: Mapped[str | None] = mapped_column(sa.Text)
    hold_seconds: Mapped[float | None] = mapped_column(sa.Float)
    talk_seconds: Mapped[float | None] = mapped_column(sa.Float)
    hangup_first: Mapped[str | None] = mapped_column(sa.String(ENUM_LENGTH))
    outcome: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH), index=True)
    hangup_cause: Mapped[int | None] = mapped_column(sa.Integer)
    notes: Mapped[list[str]] = mapped_column(sa.JSON)
    # Inbound: arrival until an agent answered (or the end, for a caller who reached
    # nobody), and the part of it after the system answered (record.measure_wait).
    wait_seconds: Mapped[float | None] = mapped_column(sa.Float)
    system_wait_seconds: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class RecordingSegmentRow(Base):
    """One recording file of a call, keyed by (linkedid, uniqueid, leg)."""

    __tablename__ = "recording_segments"
    __table_args__ = (sa.UniqueConstraint("linkedid", "uniqueid", "leg"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64))
    uniqueid: Mapped[str] = mapped_column(sa.String(64))
    leg: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    path: Mapped[str] = mapped_column(sa.Text, index=True)
    started_at: Mapped[datetime | None]


calls_table: sa.Table = CallRow.__table__  # type: ignore[assignment]


segments_table: sa.Table = RecordingSegmentRow.__table__  # type: ignore[assignment]
