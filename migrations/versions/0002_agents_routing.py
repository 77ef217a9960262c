"""agents, agent_state_log, wrapups, cases, callback_requests, call_compliance

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from callcenter.persistence.models at this revision (frozen history).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ENUM = sa.String(24)
TS = sa.DateTime(timezone=True)


def _id(table: str) -> list[Any]:
    return [
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "agents",
        *_id("agents"),
        sa.Column("staff_no", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("shift", sa.String(32), nullable=True),
        sa.Column("state", ENUM, nullable=False),
        sa.Column("state_since", TS, nullable=False),
        sa.Column("pause_reason", sa.String(64), nullable=True),
        sa.Column("pending_pause", sa.String(64), nullable=True),
        sa.Column("idle_since", TS, nullable=True),
        sa.Column("missed_in_row", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("staff_no", name=op.f("uq_agents_staff_no")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_agents_endpoint")),
    )
    op.create_table(
        "agent_state_log",
        *_id("agent_state_log"),
        sa.Column("staff_no", sa.String(32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("old_state", ENUM, nullable=False),
        sa.Column("new_state", ENUM, nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("linkedid", sa.String(64), nullable=True),
    )
    op.create_index(op.f("ix_agent_state_log_staff_no"), "agent_state_log", ["staff_no"])
    op.create_index(op.f("ix_agent_state_log_at"), "agent_state_log", ["at"])
    op.create_table(
        "wrapups",
        *_id("wrapups"),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("staff_no", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("wrap_seconds", sa.Float(), nullable=True),
        sa.UniqueConstraint("linkedid", name=op.f("uq_wrapups_linkedid")),
    )
    op.create_index(op.f("ix_wrapups_staff_no"), "wrapups", ["staff_no"])
    op.create_index(op.f("ix_wrapups_category"), "wrapups", ["category"])
    op.create_table(
        "cases",
        *_id("cases"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("reply_due_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
    )
    op.create_index(op.f("ix_cases_caller_number"), "cases", ["caller_number"])
    op.create_index(op.f("ix_cases_owner"), "cases", ["owner"])
    op.create_index(op.f("ix_cases_status"), "cases", ["status"])
    op.create_table(
        "callback_requests",
        *_id("callback_requests"),
        sa.Column("caller_number", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("message_path", sa.Text(), nullable=True),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.UniqueConstraint("linkedid", name=op.f("uq_callback_requests_linkedid")),
    )
    op.create_index(
        op.f("ix_callback_requests_caller_number"), "callback_requests", ["caller_number"]
    )
    op.create_index(op.f("ix_callback_requests_status"), "callback_requests", ["status"])
    op.create_table(
        "call_compliance",
        *_id("call_compliance"),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("staff_no", sa.String(32), nullable=True),
        sa.Column("connected_at", TS, nullable=True),
        sa.Column("dead_air_seconds", sa.Float(), nullable=True),
        sa.Column("agent_hung_up_first", sa.Boolean(), nullable=True),
        sa.Column("greeting_played", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("measured_at", TS, nullable=False),
        sa.UniqueConstraint("linkedid", name=op.f("uq_call_compliance_linkedid")),
    )
    op.create_index(op.f("ix_call_compliance_staff_no"), "call_compliance", ["staff_no"])


def downgrade() -> None:
    for table in (
        "call_compliance",
        "callback_requests",
        "cases",
        "wrapups",
        "agent_state_log",
        "agents",
    ):
        op.drop_table(table)
