"""Tables for transcripts and the script checks run on them (issue 5).

One transcript row per recorded voice (the agent's own voice, the
customer's own voice) of each agent channel, words with their times as JSON.
A row exists once the leg was tried: `status` "done" or "failed" (with the
error), so the backlog is simply the voice recordings without a row, and a
transcription run stopped halfway resumes where it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.kernel.db import ENUM_LENGTH, Base, BigId


class TranscriptRow(Base):
    __tablename__ = "transcripts"
    __table_args__ = (sa.UniqueConstraint("linkedid", "uniqueid", "leg"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64), index=True)
    uniqueid: Mapped[str] = mapped_column(sa.String(64))
    leg: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))  # "agent" or "caller"
    path: Mapped[str] = mapped_column(sa.Text)  # relative to the recordings directory
    engine: Mapped[str] = mapped_column(sa.String(32))
    model: Mapped[str] = mapped_column(sa.String(128))
    language: Mapped[str] = mapped_column(sa.String(16))
    words: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    text: Mapped[str] = mapped_column(sa.Text)
    duration: Mapped[float | None] = mapped_column(sa.Float)
    status: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH), index=True)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]


class ScriptCheckRow(Base):
    """The latest result of one script check on one call (re-running replaces it)."""

    __tablename__ = "script_checks"
    __table_args__ = (sa.UniqueConstraint("linkedid", "check"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64), index=True)
    check: Mapped[str] = mapped_column(sa.String(32), index=True)
    passed: Mapped[bool | None] = mapped_column(sa.Boolean)
    detail: Mapped[str] = mapped_column(sa.Text)
    suggestion: Mapped[str] = mapped_column(sa.Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    language: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]


transcripts_table: sa.Table = TranscriptRow.__table__  # type: ignore[assignment]
script_checks_table: sa.Table = ScriptCheckRow.__table__  # type: ignore[assignment]
