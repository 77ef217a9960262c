"""Who inspects which sample: assignments, open load per inspector, the play-access check."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from callcenter.kernel.clock import to_datetime
from callcenter.qa.model import Assignment
from callcenter.qa.store import QaStore, assignment_from_row
from callcenter.qa.tables import assignments_table, evaluations_table, samples_table


class AssignmentStore(QaStore):
    async def assignments(self, sample_id: int) -> list[Assignment]:
        query = (
            sa.select(assignments_table)
            .where(assignments_table.c.sample_id == sample_id)
            .order_by(assignments_table.c.id)
        )
        async with self._session_factory() as session:
            return [assignment_from_row(r) for r in (await session.execute(query)).all()]

    async def assign(
        self,
        sample_id: int,
        inspectors: Sequence[str],
        *,
        due_at: float,
        at: float,
        by: str,
        user_ids: dict[str, int] | None = None,
    ) -> list[Assignment]:
        """Add inspectors to a sample; the first one ever is the primary, later ones calibrate.

        An inspector already on the sample keeps their assignment (its due date moves).
        """
        async with self._session_factory() as session, session.begin():
            existing = {
                r.inspector: r
                for r in (
                    await session.execute(
                        sa.select(assignments_table).where(
                            assignments_table.c.sample_id == sample_id
                        )
                    )
                ).all()
            }
            has_primary = any(not r.calibration for r in existing.values())
            for name in inspectors:
                if name in existing:
                    await session.execute(
                        sa.update(assignments_table)
                        .where(assignments_table.c.id == existing[name].id)
                        .values(due_at=to_datetime(due_at))
                    )
                    continue
                await session.execute(
                    sa.insert(assignments_table).values(
                        sample_id=sample_id,
                        inspector=name,
                        inspector_user_id=(user_ids or {}).get(name),
                        calibration=has_primary,
                        due_at=to_datetime(due_at),
                        assigned_at=to_datetime(at),
                        assigned_by=by,
                    )
                )
                has_primary = True
        return await self.assignments(sample_id)

    async def open_load(self) -> dict[str, int]:
        """Per inspector, assignments with no evaluation yet."""
        query = (
            sa.select(assignments_table.c.inspector, sa.func.count())
            .select_from(
                assignments_table.outerjoin(
                    evaluations_table,
                    evaluations_table.c.assignment_id == assignments_table.c.id,
                )
            )
            .where(evaluations_table.c.id.is_(None))
            .group_by(assignments_table.c.inspector)
        )
        async with self._session_factory() as session:
            return {name: int(n) for name, n in (await session.execute(query)).all()}

    async def is_assigned(self, inspector: str, linkedid: str, user_id: int | None = None) -> bool:
        mine = assignments_table.c.inspector == inspector
        if user_id is not None:
            mine = sa.or_(mine, assignments_table.c.inspector_user_id == user_id)
        query = (
            sa.select(sa.func.count())
            .select_from(
                assignments_table.join(
                    samples_table, samples_table.c.id == assignments_table.c.sample_id
                )
            )
            .where(mine, samples_table.c.linkedid == linkedid)
        )
        async with self._session_factory() as session:
            return bool(await session.scalar(query))
