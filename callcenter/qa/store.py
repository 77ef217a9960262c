"""QA draws, samples, assignments and evaluations; one short session per method.

A call is sampled at most once (a unique linkedid in `qa_samples`): a draw
that races another for the same call fails whole (`DrawConflictError`) and
is simply run again. Evaluation edits check the version they started from,
so two tabs of one inspector cannot overwrite each other silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agents.tables import AgentRow, WrapUpRow
from callcenter.asr.tables import script_checks_table
from callcenter.calls.record import Outcome
from callcenter.calls.tables import calls_table
from callcenter.compliance.tables import CallComplianceRow
from callcenter.qa.model import Assignment, Draw, Evaluation, HistoryEntry, Sample, SampleRow
from callcenter.qa.sampling import Candidate, DrawSettings, Pick, Prior, Reason
from callcenter.qa.tables import (
    assignments_table,
    draws_table,
    evaluations_table,
    history_table,
    samples_table,
)
from callcenter.recordings.tables import recordings_table

wrapups = WrapUpRow.__table__
compliance = CallComplianceRow.__table__
agents = AgentRow.__table__


class DrawConflictError(RuntimeError):
    """Another draw sampled one of these calls first."""


class StaleEvaluationError(RuntimeError):
    """The evaluation changed (or was locked) since the caller read it."""


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


@dataclass(frozen=True)
class CallFactsRow:
    """An answered call of the month with what the draw's strata and flags need."""

    linkedid: str
    agent: str
    arrived_at: float
    talk_seconds: float | None
    category: str | None
    compliance_flags: tuple[str, ...]


def _sample(row: Any) -> Sample:
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


def _assignment(row: Any) -> Assignment:
    return Assignment(
        id=row.id,
        sample_id=row.sample_id,
        inspector=row.inspector,
        calibration=bool(row.calibration),
        due_at=row.due_at.timestamp(),
        assigned_at=row.assigned_at.timestamp(),
        assigned_by=row.assigned_by,
    )


def _evaluation(row: Any, history: Sequence[HistoryEntry] = ()) -> Evaluation:
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
        locked_at=_epoch(row.locked_at),
        locked_by=row.locked_by,
        history=tuple(history),
    )


def _draw(row: Any) -> Draw:
    return Draw(
        id=row.id,
        month=row.month,
        seed=row.seed,
        algorithm=row.algorithm,
        settings=DrawSettings.from_json(row.settings),
        candidates=[Candidate.from_json(c) for c in row.candidates],
        prior={
            agent: Prior(int(p.get("random", 0)), int(p.get("targeted", 0)))
            for agent, p in (row.prior or {}).items()
        },
        result=[Pick.from_json(p) for p in row.result],
        created_at=row.created_at.timestamp(),
        created_by=row.created_by,
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


class QaRepository:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        return self._session_factory

    # -- the draw ------------------------------------------------------------------------

    async def call_facts(self, start: float, end: float) -> list[CallFactsRow]:
        """Answered agent calls arrived in [start, end) not sampled before.

        The agent is the staff number when known (compliance facts, wrap-up,
        or the agent whose endpoint took the call), else the endpoint. Calls
        whose every recording was purged cannot be inspected and are left out.
        """
        sampled = sa.exists().where(samples_table.c.linkedid == calls_table.c.linkedid)
        any_recording = sa.exists().where(recordings_table.c.linkedid == calls_table.c.linkedid)
        live_recording = sa.exists().where(
            recordings_table.c.linkedid == calls_table.c.linkedid,
            recordings_table.c.deleted_at.is_(None),
        )
        query = (
            sa.select(
                calls_table.c.linkedid,
                calls_table.c.agent,
                calls_table.c.arrived_at,
                calls_table.c.talk_seconds,
                wrapups.c.category,
                wrapups.c.staff_no.label("wrap_staff"),
                compliance.c.staff_no.label("facts_staff"),
                compliance.c.flags,
                agents.c.staff_no.label("endpoint_staff"),
            )
            .select_from(
                calls_table.outerjoin(wrapups, wrapups.c.linkedid == calls_table.c.linkedid)
                .outerjoin(compliance, compliance.c.linkedid == calls_table.c.linkedid)
                .outerjoin(agents, agents.c.endpoint == calls_table.c.agent)
            )
            .where(
                calls_table.c.outcome == Outcome.ANSWERED.value,
                calls_table.c.agent.is_not(None),
                calls_table.c.arrived_at >= _dt(start),
                calls_table.c.arrived_at < _dt(end),
                ~sampled,
                sa.or_(~any_recording, live_recording),
            )
            .order_by(calls_table.c.linkedid)
        )
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
        return [
            CallFactsRow(
                linkedid=r.linkedid,
                agent=r.facts_staff or r.wrap_staff or r.endpoint_staff or r.agent,
                arrived_at=r.arrived_at.timestamp(),
                talk_seconds=r.talk_seconds,
                category=r.category,
                compliance_flags=tuple(r.flags or ()),
            )
            for r in rows
        ]

    async def prior(self, month: str) -> dict[str, Prior]:
        query = sa.select(samples_table.c.agent, samples_table.c.reason).where(
            samples_table.c.month == month, samples_table.c.draw_id.is_not(None)
        )
        counts: dict[str, list[int]] = {}
        async with self._session_factory() as session:
            for agent, reason in (await session.execute(query)).all():
                slot = counts.setdefault(agent, [0, 0])
                slot[0 if reason == Reason.RANDOM.value else 1] += 1
        return {agent: Prior(r, t) for agent, (r, t) in counts.items()}

    async def save_draw(
        self,
        *,
        month: str,
        seed: str,
        algorithm: str,
        settings: DrawSettings,
        candidates: Sequence[Candidate],
        prior: dict[str, Prior],
        picks: Sequence[Pick],
        created_at: float,
        created_by: str,
    ) -> tuple[Draw, list[Sample]]:
        now = _dt(created_at)
        try:
            async with self._session_factory() as session, session.begin():
                draw_id = (
                    await session.execute(
                        sa.insert(draws_table)
                        .values(
                            month=month,
                            seed=seed,
                            algorithm=algorithm,
                            settings=settings.to_json(),
                            candidates=[c.to_json() for c in candidates],
                            prior={
                                a: {"random": p.random, "targeted": p.targeted}
                                for a, p in prior.items()
                            },
                            result=[p.to_json() for p in picks],
                            created_at=now,
                            created_by=created_by,
                        )
                        .returning(draws_table.c.id)
                    )
                ).scalar_one()
                if picks:
                    await session.execute(
                        sa.insert(samples_table),
                        [
                            {
                                "linkedid": p.linkedid,
                                "draw_id": draw_id,
                                "month": month,
                                "agent": p.agent,
                                "reason": p.reason,
                                "reasons": list(p.reasons),
                                "stratum": p.stratum,
                                "created_at": now,
                            }
                            for p in picks
                        ],
                    )
        except IntegrityError as exc:
            raise DrawConflictError(str(exc.orig)) from None
        draw = await self.get_draw(draw_id)
        assert draw is not None
        return draw, await self.samples_of_draw(draw_id)

    async def get_draw(self, draw_id: int) -> Draw | None:
        async with self._session_factory() as session:
            row = (
                await session.execute(sa.select(draws_table).where(draws_table.c.id == draw_id))
            ).one_or_none()
        return None if row is None else _draw(row)

    async def samples_of_draw(self, draw_id: int) -> list[Sample]:
        query = (
            sa.select(samples_table)
            .where(samples_table.c.draw_id == draw_id)
            .order_by(samples_table.c.id)
        )
        async with self._session_factory() as session:
            return [_sample(r) for r in (await session.execute(query)).all()]

    async def sampled_before(self, draw_id: int, linkedids: Sequence[str]) -> set[str]:
        """Which of these calls earlier draws (or manual samples) had already taken."""
        if not linkedids:
            return set()
        query = sa.select(samples_table.c.linkedid).where(
            samples_table.c.linkedid.in_(list(linkedids)),
            sa.or_(samples_table.c.draw_id.is_(None), samples_table.c.draw_id < draw_id),
        )
        async with self._session_factory() as session:
            return set((await session.scalars(query)).all())

    # -- samples and assignments ---------------------------------------------------------------

    async def get_sample(self, sample_id: int) -> Sample | None:
        query = sa.select(samples_table).where(samples_table.c.id == sample_id)
        async with self._session_factory() as session:
            row = (await session.execute(query)).one_or_none()
        return None if row is None else _sample(row)

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
            assignment = None if row.a_id is None else _assignment(_Prefixed(row, "a_"))
            evaluation = None if row.e_id is None else _evaluation(_Prefixed(row, "e_"))
            result.append(SampleRow(_sample(row), assignment, evaluation))
        return result

    async def assignments(self, sample_id: int) -> list[Assignment]:
        query = (
            sa.select(assignments_table)
            .where(assignments_table.c.sample_id == sample_id)
            .order_by(assignments_table.c.id)
        )
        async with self._session_factory() as session:
            return [_assignment(r) for r in (await session.execute(query)).all()]

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
                        .values(due_at=_dt(due_at))
                    )
                    continue
                await session.execute(
                    sa.insert(assignments_table).values(
                        sample_id=sample_id,
                        inspector=name,
                        inspector_user_id=(user_ids or {}).get(name),
                        calibration=has_primary,
                        due_at=_dt(due_at),
                        assigned_at=_dt(at),
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

    # -- evaluations ------------------------------------------------------------------------

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
        return _evaluation(
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
                            submitted_at=_dt(at),
                            updated_at=_dt(at),
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
                    updated_at=_dt(at),
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
                .values(locked_at=_dt(at), locked_by=by)
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
        query = sa.select(evaluations_table).where(
            evaluations_table.c.locked_at.is_(None),
            evaluations_table.c.submitted_at < _dt(before),
        )
        async with self._session_factory() as session:
            return [_evaluation(r) for r in (await session.execute(query)).all()]

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
                at=_dt(at),
            )
        )

    # -- reports ---------------------------------------------------------------------------

    async def evaluations_of_month(self, month: str) -> list[Evaluation]:
        query = (
            sa.select(evaluations_table)
            .join(samples_table, samples_table.c.id == evaluations_table.c.sample_id)
            .where(samples_table.c.month == month)
            .order_by(evaluations_table.c.id)
        )
        async with self._session_factory() as session:
            return [_evaluation(r) for r in (await session.execute(query)).all()]

    async def evaluations_submitted(self, start: float, end: float) -> list[Evaluation]:
        query = (
            sa.select(evaluations_table)
            .where(
                evaluations_table.c.submitted_at >= _dt(start),
                evaluations_table.c.submitted_at < _dt(end),
            )
            .order_by(evaluations_table.c.id)
        )
        async with self._session_factory() as session:
            return [_evaluation(r) for r in (await session.execute(query)).all()]

    async def evaluations_of_call(self, linkedid: str) -> list[Evaluation]:
        query = (
            sa.select(evaluations_table)
            .where(evaluations_table.c.linkedid == linkedid)
            .order_by(evaluations_table.c.id)
        )
        async with self._session_factory() as session:
            return [_evaluation(r) for r in (await session.execute(query)).all()]

    async def compliance_between(
        self, start: float, end: float
    ) -> list[tuple[str, str, list[str]]]:
        """(linkedid, agent, flags) of calls arrived in [start, end) that have any flag."""
        query = (
            sa.select(
                calls_table.c.linkedid,
                calls_table.c.agent,
                compliance.c.staff_no,
                compliance.c.flags,
            )
            .join(compliance, compliance.c.linkedid == calls_table.c.linkedid)
            .where(calls_table.c.arrived_at >= _dt(start), calls_table.c.arrived_at < _dt(end))
        )
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
        return [
            (r.linkedid, r.staff_no or r.agent or "?", list(r.flags or ())) for r in rows if r.flags
        ]

    # -- the ASR side's tables, read only (callcenter.asr writes them) ------------------------

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
