"""The QA tables: monthly draws, samples, assignments, evaluations and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.kernel.db import ENUM_LENGTH, Base, BigId


class QaDrawRow(Base):
    """One monthly draw with everything needed to re-run it (seed, candidates, settings)."""

    __tablename__ = "qa_draws"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(sa.String(7), index=True)
    seed: Mapped[str] = mapped_column(sa.String(64))
    algorithm: Mapped[str] = mapped_column(sa.String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    candidates: Mapped[list[Any]] = mapped_column(sa.JSON)
    prior: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    result: Mapped[list[Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(128))


class QaSampleRow(Base):
    """A call picked for inspection; at most one per call, ever."""

    __tablename__ = "qa_samples"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    draw_id: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
    month: Mapped[str] = mapped_column(sa.String(7), index=True)
    agent: Mapped[str] = mapped_column(sa.String(64), index=True)
    reason: Mapped[str] = mapped_column(sa.String(32))
    reasons: Mapped[list[str]] = mapped_column(sa.JSON)
    stratum: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]


class QaAssignmentRow(Base):
    """A sample given to one inspector; several per sample for calibration."""

    __tablename__ = "qa_assignments"
    __table_args__ = (sa.UniqueConstraint("sample_id", "inspector"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sample_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    inspector: Mapped[str] = mapped_column(sa.String(128), index=True)
    inspector_user_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The first inspector's evaluation counts in reports; the others calibrate.
    calibration: Mapped[bool] = mapped_column(sa.Boolean)
    due_at: Mapped[datetime]
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(sa.String(128))


class QaEvaluationRow(Base):
    """An inspector's scoring form for one assignment, editable until locked."""

    __tablename__ = "qa_evaluations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    assignment_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    sample_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    linkedid: Mapped[str] = mapped_column(sa.String(64), index=True)
    agent: Mapped[str] = mapped_column(sa.String(64), index=True)
    inspector: Mapped[str] = mapped_column(sa.String(128))
    calibration: Mapped[bool] = mapped_column(sa.Boolean)
    scores: Mapped[dict[str, int]] = mapped_column(sa.JSON)
    comments: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    comment: Mapped[str] = mapped_column(sa.Text)
    total: Mapped[float] = mapped_column(sa.Float)
    # The form as it was when scored: a later change of weights rewrites no history.
    form: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    version: Mapped[int] = mapped_column(sa.Integer)
    submitted_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    locked_at: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(sa.String(128))


class QaEvaluationHistoryRow(Base):
    """Every version of an evaluation (submit, each edit, the lock)."""

    __tablename__ = "qa_evaluation_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[str] = mapped_column(sa.String(ENUM_LENGTH))
    scores: Mapped[dict[str, int]] = mapped_column(sa.JSON)
    comments: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    comment: Mapped[str] = mapped_column(sa.Text)
    total: Mapped[float] = mapped_column(sa.Float)
    by: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime]


draws_table: sa.Table = QaDrawRow.__table__  # type: ignore[assignment]


samples_table: sa.Table = QaSampleRow.__table__  # type: ignore[assignment]


assignments_table: sa.Table = QaAssignmentRow.__table__  # type: ignore[assignment]


evaluations_table: sa.Table = QaEvaluationRow.__table__  # type: ignore[assignment]


history_table: sa.Table = QaEvaluationHistoryRow.__table__  # type: ignore[assignment]
