"""contacts (agent panel: caller names and notes); wrapups.subcategory (complaint
types); calls.caller_number and dialled_number indexed (screen pops)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from callcenter.persistence.models at this revision (frozen history).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ENUM = sa.String(24)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("name_source", ENUM, nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("member", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("number", name=op.f("uq_contacts_number")),
    )
    with op.batch_alter_table("wrapups") as batch:
        batch.add_column(sa.Column("subcategory", sa.String(64), nullable=True))
    # A screen pop looks the caller's history up by number while the phone rings.
    op.create_index(op.f("ix_calls_caller_number"), "calls", ["caller_number"])
    op.create_index(op.f("ix_calls_dialled_number"), "calls", ["dialled_number"])


def downgrade() -> None:
    op.drop_index(op.f("ix_calls_dialled_number"), table_name="calls")
    op.drop_index(op.f("ix_calls_caller_number"), table_name="calls")
    with op.batch_alter_table("wrapups") as batch:
        batch.drop_column("subcategory")
    op.drop_table("contacts")
