"""The per-call compliance facts table (dead air, who hung up first)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.kernel.db import Base, BigId


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
