"""recordings, qa_draws, qa_samples, qa_assignments, qa_evaluations,
qa_evaluation_history, audit_log; recording segments keyed by leg too

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from callcenter.persistence.models at this revision (frozen history).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ENUM = sa.String(24)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # One agent channel now announces its mix and each voice alone (same uniqueid).
    with op.batch_alter_table("recording_segments") as batch:
        batch.drop_constraint("uq_recording_segments_linkedid_uniqueid", type_="unique")
        batch.create_unique_constraint(
            "uq_recording_segments_linkedid_uniqueid_leg", ["linkedid", "uniqueid", "leg"]
        )

    op.create_table(
        "recordings",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("leg", ENUM, nullable=False),
        sa.Column("source", ENUM, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("catalogued_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("delete_reason", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("path", name=op.f("uq_recordings_path")),
    )
    op.create_index(op.f("ix_recordings_linkedid"), "recordings", ["linkedid"])
    op.create_index(op.f("ix_recordings_created_at"), "recordings", ["created_at"])

    op.create_table(
        "qa_draws",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("seed", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("prior", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_draws")),
    )
    op.create_index(op.f("ix_qa_draws_month"), "qa_draws", ["month"])

    op.create_table(
        "qa_samples",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("draw_id", sa.BigInteger(), nullable=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("stratum", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_samples")),
        sa.UniqueConstraint("linkedid", name=op.f("uq_qa_samples_linkedid")),
    )
    op.create_index(op.f("ix_qa_samples_draw_id"), "qa_samples", ["draw_id"])
    op.create_index(op.f("ix_qa_samples_month"), "qa_samples", ["month"])
    op.create_index(op.f("ix_qa_samples_agent"), "qa_samples", ["agent"])

    op.create_table(
        "qa_assignments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("sample_id", sa.BigInteger(), nullable=False),
        sa.Column("inspector", sa.String(128), nullable=False),
        sa.Column("inspector_user_id", sa.BigInteger(), nullable=True),
        sa.Column("calibration", sa.Boolean(), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("assigned_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_assignments")),
        sa.UniqueConstraint(
            "sample_id", "inspector", name=op.f("uq_qa_assignments_sample_id_inspector")
        ),
    )
    op.create_index(op.f("ix_qa_assignments_sample_id"), "qa_assignments", ["sample_id"])
    op.create_index(op.f("ix_qa_assignments_inspector"), "qa_assignments", ["inspector"])

    op.create_table(
        "qa_evaluations",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("assignment_id", sa.BigInteger(), nullable=False),
        sa.Column("sample_id", sa.BigInteger(), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("inspector", sa.String(128), nullable=False),
        sa.Column("calibration", sa.Boolean(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("locked_at", TS, nullable=True),
        sa.Column("locked_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_evaluations")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_qa_evaluations_assignment_id")),
    )
    op.create_index(op.f("ix_qa_evaluations_sample_id"), "qa_evaluations", ["sample_id"])
    op.create_index(op.f("ix_qa_evaluations_linkedid"), "qa_evaluations", ["linkedid"])
    op.create_index(op.f("ix_qa_evaluations_agent"), "qa_evaluations", ["agent"])
    op.create_index(op.f("ix_qa_evaluations_submitted_at"), "qa_evaluations", ["submitted_at"])

    op.create_table(
        "qa_evaluation_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("evaluation_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", ENUM, nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_evaluation_history")),
    )
    op.create_index(
        op.f("ix_qa_evaluation_history_evaluation_id"), "qa_evaluation_history", ["evaluation_id"]
    )

    op.create_table(
        "audit_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", ENUM, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "qa_evaluation_history",
        "qa_evaluations",
        "qa_assignments",
        "qa_samples",
        "qa_draws",
        "recordings",
    ):
        op.drop_table(table)
    # Back to one segment per channel: keep the mixes, drop the voice-alone segments.
    op.execute("DELETE FROM recording_segments WHERE leg IN ('agent-voice', 'customer-voice')")
    with op.batch_alter_table("recording_segments") as batch:
        batch.drop_constraint("uq_recording_segments_linkedid_uniqueid_leg", type_="unique")
        batch.create_unique_constraint(
            "uq_recording_segments_linkedid_uniqueid", ["linkedid", "uniqueid"]
        )
