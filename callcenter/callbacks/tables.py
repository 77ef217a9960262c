"""The callbacks' tables: callbacks, dial attempts and survey answers."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.kernel.db import ENUM_LENGTH, Base, BigId

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
