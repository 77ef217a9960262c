"""Tables for finished calls and their recording segments.

Enums are stored as short strings, not native database enums, so adding an
outcome is a code change and never an `ALTER TYPE` migration. Times are
timezone-aware UTC on both SQLite and PostgreSQL (see `UtcDateTime`).
`recording_segments` has no foreign key to `calls` on purpose: the recordings
check must be able to see segments whose call row never arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ENUM_LENGTH = 24  # longest value today: "answered_by_system" (18)


class UtcDateTime(TypeDecorator[datetime]):
    """A DateTime that only accepts aware values and always returns UTC-aware ones.

    SQLite has no time zone storage: values are written as naive UTC there and
    tagged UTC again when read, so both dialects hand back equal datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


# BIGINT on PostgreSQL (upserts burn sequence values); SQLite only
# autoincrements a column declared exactly INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Call(Base):
    """One finished call per Asterisk linkedid; a later version overwrites the row."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    direction: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    # Indexed for screen pops: a caller's history while the phone rings (inbound by the
    # caller's number, outbound by the number dialled).
    caller_number: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    caller_name: Mapped[str | None] = mapped_column(sa.Text)
    dialled_number: Mapped[str | None] = mapped_column(sa.String(64), index=True)
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


calls_table: sa.Table = Call.__table__  # type: ignore[assignment]
segments_table: sa.Table = RecordingSegmentRow.__table__  # type: ignore[assignment]


# -- agents and routing (issue 3) --------------------------------------------------------


class AgentRow(Base):
    """An agent and, so that it survives restarts, their current state."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.Text)
    endpoint: Mapped[str] = mapped_column(sa.String(64), unique=True)
    skills: Mapped[list[str]] = mapped_column(sa.JSON)
    shift: Mapped[str | None] = mapped_column(sa.String(32))
    state: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    state_since: Mapped[datetime]
    pause_reason: Mapped[str | None] = mapped_column(sa.String(64))
    pending_pause: Mapped[str | None] = mapped_column(sa.String(64))
    idle_since: Mapped[datetime | None]
    missed_in_row: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class AgentStateLogRow(Base):
    """Every agent state change with its time (reports, attendance)."""

    __tablename__ = "agent_state_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_no: Mapped[str] = mapped_column(sa.String(32), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    old_state: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    new_state: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    reason: Mapped[str | None] = mapped_column(sa.String(64))
    linkedid: Mapped[str | None] = mapped_column(sa.String(64))


class WrapUpRow(Base):
    """The agent's after-call work for one call: category, notes, resolved."""

    __tablename__ = "wrapups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    staff_no: Mapped[str] = mapped_column(sa.String(32), index=True)
    category: Mapped[str] = mapped_column(sa.String(32), index=True)
    # The complaint type (or any category's finer class) for the weekly classification.
    subcategory: Mapped[str | None] = mapped_column(sa.String(64))
    notes: Mapped[str] = mapped_column(sa.Text)
    resolved: Mapped[bool] = mapped_column(sa.Boolean)
    started_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime]
    wrap_seconds: Mapped[float | None] = mapped_column(sa.Float)


class CaseRow(Base):
    """A customer case (a complaint above all), owned by the agent who took it (首問負責制)."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    caller_number: Mapped[str] = mapped_column(sa.String(64), index=True)
    owner: Mapped[str] = mapped_column(sa.String(32), index=True)
    linkedid: Mapped[str | None] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH), index=True)
    opened_at: Mapped[datetime]
    reply_due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class CallbackRequestRow(Base):
    """A caller asked to be called back (pressed 1, left a message after hours)."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    caller_number: Mapped[str] = mapped_column(sa.String(64), index=True)
    source: Mapped[str] = mapped_column(sa.String(32))
    linkedid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    message_path: Mapped[str | None] = mapped_column(sa.Text)
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH), index=True)


class CallComplianceRow(Base):
    """Per call, the greeting-script facts that need no ASR."""

    __tablename__ = "call_compliance"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    staff_no: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    connected_at: Mapped[datetime | None]
    dead_air_seconds: Mapped[float | None] = mapped_column(sa.Float)
    agent_hung_up_first: Mapped[bool | None] = mapped_column(sa.Boolean)
    greeting_played: Mapped[bool] = mapped_column(sa.Boolean)
    flags: Mapped[list[str]] = mapped_column(sa.JSON)
    measured_at: Mapped[datetime]


# -- outbound callbacks (issue 4) ----------------------------------------------------------

OPEN_CALLBACK = sa.text("status IN ('pending', 'dialling')")


class CallbackRow(Base):
    """One callback to make; at most one open per number and purpose (a partial unique index)."""

    __tablename__ = "callbacks"
    __table_args__ = (
        sa.Index(
            "uq_callbacks_open_number_purpose",
            "number",
            "purpose",
            unique=True,
            postgresql_where=OPEN_CALLBACK,
            sqlite_where=OPEN_CALLBACK,
        ),
        sa.Index("ix_callbacks_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(sa.String(32))
    purpose: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    priority: Mapped[int] = mapped_column(sa.Integer)
    due_at: Mapped[datetime]
    deadline: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    attempts: Mapped[int] = mapped_column(sa.Integer)
    max_attempts: Mapped[int] = mapped_column(sa.Integer)
    retry_spacing: Mapped[float] = mapped_column(sa.Float)
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    case_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    linkedid: Mapped[str | None] = mapped_column(sa.String(64))
    requested_at: Mapped[datetime]
    notes: Mapped[list[str]] = mapped_column(sa.JSON)
    last_outcome: Mapped[str | None] = mapped_column(sa.String(ENUM_LENGTH))
    # Which backend instance is dialling it, and since when (crash recovery).
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_at: Mapped[datetime | None]


class CallbackAttemptRow(Base):
    """Every dialling attempt with its outcome."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    callback_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    linkedid: Mapped[str | None] = mapped_column(sa.String(64))


class SurveyAnswerRow(Base):
    """A customer's satisfaction answer after a follow-up call (1 滿意, 2 一般, 3 不滿意)."""

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    callback_id: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
    case_id: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
    linkedid: Mapped[str | None] = mapped_column(sa.String(64))
    answer: Mapped[int] = mapped_column(sa.Integer)
    label: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime]
