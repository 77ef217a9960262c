"""The draw's reads and writes: candidate calls, prior picks, the stored draw and its samples.

A call is sampled at most once (a unique linkedid in `qa_samples`): a draw
that races another for the same call fails whole (`DrawConflictError`) and
is simply run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from callcenter.agents.tables import AgentRow, WrapUpRow
from callcenter.calls.record import Outcome
from callcenter.calls.tables import calls_table
from callcenter.compliance.tables import CallComplianceRow
from callcenter.kernel.clock import to_datetime
from callcenter.qa.model import Draw, Sample
from callcenter.qa.sampling import Candidate, DrawSettings, Pick, Prior, Reason
from callcenter.qa.store import DrawConflictError, QaStore, sample_from_row
from callcenter.qa.tables import draws_table, samples_table
from callcenter.recordings.tables import recordings_table

wrapups = WrapUpRow.__table__
compliance = CallComplianceRow.__table__
agents = AgentRow.__table__


@dataclass(frozen=True)
class CallFactsRow:
    """An answered call of the month with what the draw's strata and flags need."""

    linkedid: str
    agent: str
    arrived_at: float
    talk_seconds: float | None
    category: str | None
    compliance_flags: tuple[str, ...]


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


class DrawStore(QaStore):
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
                calls_table.c.arrived_at >= to_datetime(start),
                calls_table.c.arrived_at < to_datetime(end),
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
        now = to_datetime(created_at)
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
            return [sample_from_row(r) for r in (await session.execute(query)).all()]

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
