"""callbacks, callback_attempts, survey_answers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from callcenter.persistence.models at this revision (frozen history).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ENUM = sa.String(24)
TS = sa.DateTime(timezone=True)
OPEN = sa.text("status IN ('pending', 'dialling')")


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("purpose", ENUM, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("deadline", TS, nullable=True),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_spacing", sa.Float(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("last_outcome", ENUM, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    op.create_index(
        "uq_callbacks_open_number_purpose",
        "callbacks",
        ["number", "purpose"],
        unique=True,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.create_index("ix_callbacks_status_due_at", "callbacks", ["status", "due_at"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("callback_id", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("outcome", ENUM, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
    )
    op.create_index(op.f("ix_callback_attempts_callback_id"), "callback_attempts", ["callback_id"])
    op.create_table(
        "survey_answers",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("callback_id", sa.BigInteger(), nullable=True),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("answer", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
    )
    op.create_index(op.f("ix_survey_answers_callback_id"), "survey_answers", ["callback_id"])
    op.create_index(op.f("ix_survey_answers_case_id"), "survey_answers", ["case_id"])


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_table("callback_attempts")
    op.drop_index("ix_callbacks_status_due_at", table_name="callbacks")
    op.drop_index("uq_callbacks_open_number_purpose", table_name="callbacks")
    op.drop_table("callbacks")
