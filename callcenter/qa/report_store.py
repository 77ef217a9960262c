"""The reports' reads: evaluations by month, week or call, and the week's compliance flags."""

from __future__ import annotations

import sqlalchemy as sa

from callcenter.calls.tables import calls_table
from callcenter.compliance.tables import CallComplianceRow
from callcenter.kernel.clock import to_datetime
from callcenter.qa.model import Evaluation
from callcenter.qa.store import QaStore
from callcenter.qa.tables import evaluations_table, samples_table

compliance = CallComplianceRow.__table__


class ReportStore(QaStore):
    async def evaluations_of_month(self, month: str) -> list[Evaluation]:
        return await self._evaluations(
            sa.select(evaluations_table)
            .join(samples_table, samples_table.c.id == evaluations_table.c.sample_id)
            .where(samples_table.c.month == month)
            .order_by(evaluations_table.c.id)
        )

    async def evaluations_submitted(self, start: float, end: float) -> list[Evaluation]:
        return await self._evaluations(
            sa.select(evaluations_table)
            .where(
                evaluations_table.c.submitted_at >= to_datetime(start),
                evaluations_table.c.submitted_at < to_datetime(end),
            )
            .order_by(evaluations_table.c.id)
        )

    async def evaluations_of_call(self, linkedid: str) -> list[Evaluation]:
        return await self._evaluations(
            sa.select(evaluations_table)
            .where(evaluations_table.c.linkedid == linkedid)
            .order_by(evaluations_table.c.id)
        )

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
            .where(
                calls_table.c.arrived_at >= to_datetime(start),
                calls_table.c.arrived_at < to_datetime(end),
            )
        )
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
        return [
            (r.linkedid, r.staff_no or r.agent or "?", list(r.flags or ())) for r in rows if r.flags
        ]
