"""Evaluations with their history: submit, edit, lock, and what retention must keep.

Edits check the version they started from, so two tabs of one inspector
cannot overwrite each other silently (`StaleEvaluationError`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.kernel.clock import to_datetime
from callcenter.qa.model import Assignment, Evaluation, HistoryEntry, Sample
from callcenter.qa.store import (
    QaStore,
    StaleEvaluationError,
    assignment_from_row,
    evaluation_from_row,
)
from callcenter.qa.tables import (
    assignments_table,
    evaluations_table,
    history_table,
    samples_table,
)


class EvaluationStore(QaStore):
    async def assignment_of(self, sample_id: int, inspector: str) -> Assignment | None:
        query = (
            sa.select(assignments_table)
            .where(
                assignments_table.c.sample_id == sample_id,
                assignments_table.c.inspector == inspector,
            )
            .order_by(assignments_table.c.id)
            .limit(1)
        )
        async with self._session_factory() as session:
            row = (await session.execute(query)).one_or_none()
        return None if row is None else assignment_from_row(row)

    async def get_evaluation(self, evaluation_id: int) -> Evaluation | None:
        return await self._evaluation_where(evaluations_table.c.id == evaluation_id)

    async def evaluation_of(self, assignment_id: int) -> Evaluation | None:
        return await self._evaluation_where(evaluations_table.c.assignment_id == assignment_id)

    async def _evaluation_where(self, clause: sa.ColumnElement[bool]) -> Evaluation | None:
        async with self._session_factory() as session:
            row = (await session.execute(sa.select(evaluations_table).where(clause))).one_or_none()
            if row is None:
                return None
            history = (
                await session.execute(
                    sa.select(history_table)
                    .where(history_table.c.evaluation_id == row.id)
                    .order_by(history_table.c.version, history_table.c.id)
                )
            ).all()
        return evaluation_from_row(
            row,
            [
                HistoryEntry(
                    h.version,
                    h.action,
                    dict(h.scores),
                    dict(h.comments),
                    h.comment,
                    h.total,
                    h.by,
                    h.at.timestamp(),
                )
                for h in history
            ],
        )

    async def create_evaluation(
        self,
        assignment: Assignment,
        sample: Sample,
        *,
        scores: dict[str, int],
        comments: dict[str, str],
        comment: str,
        total: float,
        form: dict[str, Any],
        at: float,
        by: str,
    ) -> Evaluation:
        try:
            async with self._session_factory() as session, session.begin():
                evaluation_id = (
                    await session.execute(
                        sa.insert(evaluations_table)
                        .values(
                            assignment_id=assignment.id,
                            sample_id=sample.id,
                            linkedid=sample.linkedid,
                            agent=sample.agent,
                            inspector=assignment.inspector,
                            calibration=assignment.calibration,
                            scores=scores,
                            comments=comments,
                            comment=comment,
                            total=total,
                            form=form,
                            version=1,
                            submitted_at=to_datetime(at),
                            updated_at=to_datetime(at),
                        )
                        .returning(evaluations_table.c.id)
                    )
                ).scalar_one()
                await self._history(
                    session, evaluation_id, 1, "submit", scores, comments, comment, total, by, at
                )
        except IntegrityError:
            raise StaleEvaluationError("the evaluation was submitted meanwhile") from None
        found = await self.get_evaluation(evaluation_id)
        assert found is not None
        return found

    async def update_evaluation(
        self,
        evaluation: Evaluation,
        *,
        scores: dict[str, int],
        comments: dict[str, str],
        comment: str,
        total: float,
        at: float,
        by: str,
    ) -> Evaluation:
        version = evaluation.version + 1
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                sa.update(evaluations_table)
                .where(
                    evaluations_table.c.id == evaluation.id,
                    evaluations_table.c.version == evaluation.version,
                    evaluations_table.c.locked_at.is_(None),
                )
                .values(
                    scores=scores,
                    comments=comments,
                    comment=comment,
                    total=total,
                    version=version,
                    updated_at=to_datetime(at),
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise StaleEvaluationError("the evaluation changed or was locked meanwhile")
            await self._history(
                session, evaluation.id, version, "edit", scores, comments, comment, total, by, at
            )
        found = await self.get_evaluation(evaluation.id)
        assert found is not None
        return found

    async def lock(self, evaluation: Evaluation, *, at: float, by: str) -> Evaluation:
        async with self._session_factory() as session, session.begin():
            result = await session.execute(
                sa.update(evaluations_table)
                .where(
                    evaluations_table.c.id == evaluation.id,
                    evaluations_table.c.locked_at.is_(None),
                )
                .values(locked_at=to_datetime(at), locked_by=by)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                await self._history(
                    session,
                    evaluation.id,
                    evaluation.version,
                    "lock",
                    evaluation.scores,
                    evaluation.comments,
                    evaluation.comment,
                    evaluation.total,
                    by,
                    at,
                )
        found = await self.get_evaluation(evaluation.id)
        assert found is not None
        return found

    async def submitted_before(self, before: float) -> list[Evaluation]:
        """Unlocked evaluations first submitted before `before` (due for the automatic lock)."""
        return await self._evaluations(
            sa.select(evaluations_table).where(
                evaluations_table.c.locked_at.is_(None),
                evaluations_table.c.submitted_at < to_datetime(before),
            )
        )

    async def held_linkedids(self) -> set[str]:
        """Sampled calls still under evaluation: some assignment unlocked, or none yet."""
        unlocked = (
            sa.select(samples_table.c.linkedid)
            .select_from(
                samples_table.outerjoin(
                    assignments_table, assignments_table.c.sample_id == samples_table.c.id
                ).outerjoin(
                    evaluations_table,
                    evaluations_table.c.assignment_id == assignments_table.c.id,
                )
            )
            .where(
                sa.or_(evaluations_table.c.id.is_(None), evaluations_table.c.locked_at.is_(None))
            )
        )
        async with self._session_factory() as session:
            return set((await session.scalars(unlocked)).all())

    @staticmethod
    async def _history(
        session: AsyncSession,
        evaluation_id: int,
        version: int,
        action: str,
        scores: dict[str, int],
        comments: dict[str, str],
        comment: str,
        total: float,
        by: str,
        at: float,
    ) -> None:
        await session.execute(
            sa.insert(history_table).values(
                evaluation_id=evaluation_id,
                version=version,
                action=action,
                scores=scores,
                comments=comments,
                comment=comment,
                total=total,
                by=by,
                at=to_datetime(at),
            )
        )
