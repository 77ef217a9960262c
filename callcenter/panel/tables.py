"""The agent panel's table: customer contacts (number -> name, notes, member).

A contact is created from the caller ID the first time a number reaches an
agent, and corrected by agents from the wrap-up form. `name_source` keeps
the two apart: a caller-ID name never overwrites a name an agent typed.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.kernel.db import ENUM_LENGTH, Base, BigId


class ContactRow(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)  # normalised
    name: Mapped[str | None] = mapped_column(sa.Text)
    name_source: Mapped[str | None] = mapped_column(sa.String(ENUM_LENGTH))  # caller-id / agent
    notes: Mapped[str] = mapped_column(sa.Text)
    member: Mapped[bool] = mapped_column(sa.Boolean)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))
