"""agents.call, agents.wrap_up_until, agents.ring_until: an agent's state survives a
crash exactly (the call they are on or offered, when their wrap-up ends, until when an
offer may ring)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from callcenter.kernel.db at this revision (frozen history).
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Existing rows get NULLs: the service restores a wrap-up without an end as
    # ending wrap_up_seconds after it began, and an offer without one as over.
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("call", sa.String(64), nullable=True))
        batch.add_column(sa.Column("wrap_up_until", TS, nullable=True))
        batch.add_column(sa.Column("ring_until", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("ring_until")
        batch.drop_column("wrap_up_until")
        batch.drop_column("call")
