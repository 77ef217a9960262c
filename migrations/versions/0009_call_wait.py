"""calls.wait_seconds and calls.system_wait_seconds: how long a caller waited in all,
and after the system answered (a held caller who hangs up is an abandon, with its wait)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Calls stored before this revision keep NULL: their wait was not measured, and
    # guessing it from answer_seconds would be wrong for held callers.
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("wait_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("system_wait_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("system_wait_seconds")
        batch.drop_column("wait_seconds")
