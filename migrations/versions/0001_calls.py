"""calls and recording_segments

Revision ID: 0001
Revises:
Create Date: 2025-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must match callcenter.persistence.models (tests/integration/test_migrations.py
# checks with autogenerate). Copied rather than imported: a migration is frozen
# history and must not change when the models do.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ENUM = sa.String(24)


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("direction", ENUM, nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=True),
        sa.Column("caller_name", sa.Text(), nullable=True),
        sa.Column("dialled_number", sa.String(64), nullable=True),
        sa.Column("queue", sa.String(128), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_seconds", sa.Float(), nullable=True),
        sa.Column("rings_to_answer", sa.Integer(), nullable=True),
        sa.Column("answered_by", ENUM, nullable=True),
        sa.Column("agent", sa.String(128), nullable=True),
        sa.Column("agent_name", sa.Text(), nullable=True),
        sa.Column("hold_seconds", sa.Float(), nullable=True),
        sa.Column("talk_seconds", sa.Float(), nullable=True),
        sa.Column("hangup_first", ENUM, nullable=True),
        sa.Column("outcome", ENUM, nullable=False),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("linkedid", name=op.f("uq_calls_linkedid")),
    )
    op.create_index(op.f("ix_calls_agent"), "calls", ["agent"])
    op.create_index(op.f("ix_calls_arrived_at"), "calls", ["arrived_at"])
    op.create_index(op.f("ix_calls_outcome"), "calls", ["outcome"])
    op.create_index(op.f("ix_calls_queue"), "calls", ["queue"])

    op.create_table(
        "recording_segments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("leg", ENUM, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_segments")),
        sa.UniqueConstraint(
            "linkedid", "uniqueid", name=op.f("uq_recording_segments_linkedid_uniqueid")
        ),
    )
    op.create_index(op.f("ix_recording_segments_path"), "recording_segments", ["path"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recording_segments_path"), table_name="recording_segments")
    op.drop_table("recording_segments")
    op.drop_index(op.f("ix_calls_queue"), table_name="calls")
    op.drop_index(op.f("ix_calls_outcome"), table_name="calls")
    op.drop_index(op.f("ix_calls_arrived_at"), table_name="calls")
    op.drop_index(op.f("ix_calls_agent"), table_name="calls")
    op.drop_table("calls")
