"""The agents' tables: agents, their state log, wrap-ups, cases and callback requests."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.kernel.db import ENUM_LENGTH, Base, BigId


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
    # What a restart needs to end the state exactly: the call offered, talked or
    # wrapped up, when the wrap-up ends, until when an offer may ring.
    call: Mapped[str | None] = mapped_column(sa.String(64))
    wrap_up_until: Mapped[datetime | None]
    ring_until: Mapped[datetime | None]
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
