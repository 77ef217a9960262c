"""transcripts, script_checks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from callcenter.persistence.models at this revision (frozen history).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ENUM = sa.String(24)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "transcripts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("leg", ENUM, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcripts")),
        sa.UniqueConstraint(
            "linkedid", "uniqueid", "leg", name=op.f("uq_transcripts_linkedid_uniqueid_leg")
        ),
    )
    op.create_index(op.f("ix_transcripts_linkedid"), "transcripts", ["linkedid"])
    op.create_index(op.f("ix_transcripts_status"), "transcripts", ["status"])
    op.create_table(
        "script_checks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("check", sa.String(32), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_checks")),
        sa.UniqueConstraint("linkedid", "check", name=op.f("uq_script_checks_linkedid_check")),
    )
    op.create_index(op.f("ix_script_checks_linkedid"), "script_checks", ["linkedid"])
    op.create_index(op.f("ix_script_checks_check"), "script_checks", ["check"])


def downgrade() -> None:
    op.drop_table("script_checks")
    op.drop_table("transcripts")
