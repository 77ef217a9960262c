"""The recordings catalogue table: one row per file, with its duration, size and sha256."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.kernel.db import ENUM_LENGTH, Base, BigId


class RecordingRow(Base):
    """One recording file on disk, measured once the call is final."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64), index=True)
    uniqueid: Mapped[str] = mapped_column(sa.String(64))
    # What is heard: "mixed" (both parties), "agent" or "caller" (that party alone).
    leg: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    # The segment leg the dialplan announced (caller, agent, agent-voice, customer-voice).
    source: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    path: Mapped[str] = mapped_column(sa.Text, unique=True)
    duration_seconds: Mapped[float | None] = mapped_column(sa.Float)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    sample_rate: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(index=True)
    catalogued_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    delete_reason: Mapped[str | None] = mapped_column(sa.String(64))


recordings_table: sa.Table = RecordingRow.__table__  # type: ignore[assignment]
