"""What the four QA stores share: the row mapping, the sample-row read, the race errors.

Each job has its own store (`draw_store`, `assignment_store`,
`evaluation_store`, `report_store`), one short session per method; they
derive from `QaStore` so the reads several jobs need are written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.asr.tables import script_checks_table
from callcenter.kernel.clock import to_epoch
from callcenter.kernel.roles import Principal
from callcenter.qa.model import Assignment, Evaluation, HistoryEntry, Sample, SampleRow
from callcenter.qa.tables import assignments_table, evaluations_table, samples_table


def sampled_calls() -> sa.Select[tuple[str]]:
    """The sampled calls' linkedids, the query asr joins to transcribe them first."""
    return sa.select(samples_table.c.linkedid)


def assigned_to(linkedid: sa.ColumnElement[str], who: Principal) -> sa.ColumnElement[bool]:
    """The calls sampled and assigned to this inspector (by name or user id, as
    `is_assigned`), as a condition on a call's linkedid: what the call log shows it."""
    mine = assignments_table.c.inspector == who.username
    if who.user_id is not None:
        mine = sa.or_(mine, assignments_table.c.inspector_user_id == who.user_id)
    assigned = (
        sa.select(samples_table.c.linkedid)
        .join(assignments_table, assignments_table.c.sample_id == samples_table.c.id)
        .where(mine)
    )
    return linkedid.in_(assigned)


class DrawConflictError(RuntimeError):
    """Another draw sampled one of these calls first."""


class StaleEvaluationError(RuntimeError):
    """The evaluation changed (or was locked) since the caller read it."""


def sample_from_row(row: Any) -> Sample:
    return Sample(
        id=row.id,
        linkedid=row.linkedid,
        draw_id=row.draw_id,
        month=row.month,
        agent=row.agent,
        reason=row.reason,
        reasons=tuple(row.reasons or ()),
        stratum=row.stratum,
        created_at=row.created_at.timestamp(),
    )


def assignment_from_row(row: Any) -> Assignment:
    return Assignment(
        id=row.id,
        sample_id=row.sample_id,
        inspector=row.inspector,
        calibration=bool(row.calibration),
        due_at=row.due_at.timestamp(),
        assigned_at=row.assigned_at.timestamp(),
        assigned_by=row.assigned_by,
    )


def evaluation_from_row(row: Any, history: Sequence[HistoryEntry] = ()) -> Evaluation:
    return Evaluation(
        id=row.id,
        assignment_id=row.assignment_id,
        sample_id=row.sample_id,
        linkedid=row.linkedid,
        agent=row.agent,
        inspector=row.inspector,
        calibration=bool(row.calibration),
        scores=dict(row.scores),
        comments=dict(row.comments),
        comment=row.comment,
        total=row.total,
        form=dict(row.form),
        version=row.version,
        submitted_at=row.submitted_at.timestamp(),
        updated_at=row.updated_at.timestamp(),
        locked_at=to_epoch(row.locked_at),
        locked_by=row.locked_by,
        history=tuple(history),
    )


# Evaluation columns under a prefix, so one joined row carries sample, assignment and evaluation.
_E = [c.label(f"e_{c.name}") for c in evaluations_table.columns]
_A = [c.label(f"a_{c.name}") for c in assignments_table.columns]


class _Prefixed:
    def __init__(self, row: Any, prefix: str) -> None:
        self._row = row
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


class QaStore:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        return self._session_factory

    async def get_sample(self, sample_id: int) -> Sample | None:
        query = sa.select(samples_table).where(samples_table.c.id == sample_id)
        async with self._session_factory() as session:
            row = (await session.execute(query)).one_or_none()
        return None if row is None else sample_from_row(row)

    async def list_rows(
        self,
        *,
        inspector: str | None = None,
        month: str | None = None,
        agent: str | None = None,
        sample_id: int | None = None,
        linkedid: str | None = None,
        limit: int = 500,
    ) -> list[SampleRow]:
        """Samples with each assignment and its evaluation, newest sample first."""
        join = samples_table.outerjoin(
            assignments_table, assignments_table.c.sample_id == samples_table.c.id
        ).outerjoin(evaluations_table, evaluations_table.c.assignment_id == assignments_table.c.id)
        query = sa.select(samples_table, *_A, *_E).select_from(join)
        if inspector is not None:
            query = query.where(assignments_table.c.inspector == inspector)
        for column, value in (
            (samples_table.c.month, month),
            (samples_table.c.agent, agent),
            (samples_table.c.id, sample_id),
            (samples_table.c.linkedid, linkedid),
        ):
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(
            samples_table.c.id.desc(), assignments_table.c.calibration, assignments_table.c.id
        ).limit(limit)
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
        result = []
        for row in rows:
            assignment = None if row.a_id is None else assignment_from_row(_Prefixed(row, "a_"))
            evaluation = None if row.e_id is None else evaluation_from_row(_Prefixed(row, "e_"))
            result.append(SampleRow(sample_from_row(row), assignment, evaluation))
        return result

    async def _evaluations(self, query: sa.Select[Any]) -> list[Evaluation]:
        """Evaluations without their history (the reports and the lock sweep need none)."""
        async with self._session_factory() as session:
            return [evaluation_from_row(r) for r in (await session.execute(query)).all()]

    # The ASR side's table, read only (callcenter.asr writes it); the draw and the weekly
    # report both flag calls by it.
    async def failed_checks(self, linkedids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Per call, the automatic checks that failed (passed is False, not unknown)."""
        found: dict[str, list[str]] = {}
        wanted = sorted(set(linkedids))
        async with self._session_factory() as session:
            for start in range(0, len(wanted), 500):
                checks = script_checks_table.c
                query = sa.select(checks.linkedid, checks.check).where(
                    checks.linkedid.in_(wanted[start : start + 500]), checks.passed.is_(False)
                )
                for linkedid, check in (await session.execute(query)).all():
                    found.setdefault(linkedid, []).append(check)
        return {k: tuple(sorted(v)) for k, v in found.items()}
