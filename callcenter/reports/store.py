"""Queries behind the reports: the calls of a date range with their wrap-ups, cases,
callback marks and the agent who worked each, as `ReportCall`s for the pure
aggregation in `callcenter.reports`.

A few indexed range queries rather than one wide join: the state log and the
callback requests are read by time window (their time columns are indexed),
cases by the linkedids of the complaints found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agents.tables import (
    AgentRow,
    AgentStateLogRow,
    CallbackRequestRow,
    CaseRow,
    WrapUpRow,
)
from callcenter.calls.rows import record_from_row
from callcenter.calls.tables import calls_table
from callcenter.kernel.clock import to_datetime
from callcenter.reports.records import ReportCall, RosterEntry, resolve_staff

# An agent may take a call well after it arrived (held by the system): look this far on.
LATE_ANSWER = timedelta(hours=6)
CHUNK = 500
AFTER_HOURS = "after-hours"


class ReportsRepository:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def roster(self) -> dict[str, RosterEntry]:
        async with self._sessions() as session:
            rows = (await session.scalars(sa.select(AgentRow).order_by(AgentRow.staff_no))).all()
        return {r.staff_no: RosterEntry(r.staff_no, r.name, r.endpoint, r.shift) for r in rows}

    async def calls(
        self,
        start: float,
        end: float,
        *,
        queue: str | None = None,
        roster: dict[str, RosterEntry] | None = None,
    ) -> list[ReportCall]:
        """Calls that arrived in [start, end), oldest first (agent filtering is the caller's:
        who worked a call is only known once resolved)."""
        roster = roster if roster is not None else await self.roster()
        low, high = to_datetime(start), to_datetime(end)
        stmt = (
            sa.select(
                calls_table,
                WrapUpRow.staff_no.label("w_staff_no"),
                WrapUpRow.category.label("w_category"),
                WrapUpRow.subcategory.label("w_subcategory"),
                WrapUpRow.resolved.label("w_resolved"),
                WrapUpRow.wrap_seconds.label("w_wrap_seconds"),
            )
            .outerjoin(WrapUpRow, WrapUpRow.linkedid == calls_table.c.linkedid)
            .where(calls_table.c.arrived_at >= low, calls_table.c.arrived_at < high)
            .order_by(calls_table.c.arrived_at, calls_table.c.id)
        )
        if queue is not None:
            stmt = stmt.where(calls_table.c.queue == queue)
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
            on_call = await self._on_call(session, low, high + LATE_ANSWER)
            marks = await self._callback_marks(session, low, high + LATE_ANSWER)
            wrapped = [r.linkedid for r in rows if r.w_category is not None]
            cases = await self._case_status(session, wrapped)
        out = []
        for row in rows:
            record = record_from_row(row, ())
            sources = marks.get(row.linkedid, set())
            out.append(
                ReportCall(
                    record=record,
                    staff_no=resolve_staff(
                        wrap_staff_no=row.w_staff_no,
                        on_call_staff_no=on_call.get(row.linkedid),
                        agent=record.agent,
                        agent_name=record.agent_name,
                        roster=roster,
                    ),
                    category=row.w_category,
                    subcategory=row.w_subcategory,
                    resolved=row.w_resolved,
                    wrap_seconds=row.w_wrap_seconds,
                    case_status=cases.get(row.linkedid),
                    callback_requested=bool(sources - {AFTER_HOURS}),
                    after_hours=AFTER_HOURS in sources,
                )
            )
        return out

    @staticmethod
    async def _on_call(session: AsyncSession, low: datetime, high: datetime) -> dict[str, str]:
        """linkedid -> the staff number the state log shows on the call (first one)."""
        stmt = (
            sa.select(AgentStateLogRow.linkedid, AgentStateLogRow.staff_no)
            .where(
                AgentStateLogRow.at >= low,
                AgentStateLogRow.at < high,
                AgentStateLogRow.new_state == "on_call",
                AgentStateLogRow.linkedid.is_not(None),
            )
            .order_by(AgentStateLogRow.id)
        )
        found: dict[str, str] = {}
        for linkedid, staff_no in (await session.execute(stmt)).all():
            if linkedid:
                found.setdefault(linkedid, staff_no)
        return found

    @staticmethod
    async def _callback_marks(
        session: AsyncSession, low: datetime, high: datetime
    ) -> dict[str, set[str]]:
        """linkedid -> the dialplan's callback request sources (press-1, after-hours)."""
        stmt = sa.select(CallbackRequestRow.linkedid, CallbackRequestRow.source).where(
            CallbackRequestRow.requested_at >= low,
            CallbackRequestRow.requested_at < high,
            CallbackRequestRow.linkedid.is_not(None),
        )
        marks: dict[str, set[str]] = {}
        for linkedid, source in (await session.execute(stmt)).all():
            if linkedid:
                marks.setdefault(linkedid, set()).add(source)
        return marks

    @staticmethod
    async def _case_status(session: AsyncSession, linkedids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for i in range(0, len(linkedids), CHUNK):
            chunk = linkedids[i : i + CHUNK]
            stmt = (
                sa.select(CaseRow.linkedid, CaseRow.status)
                .where(CaseRow.linkedid.in_(chunk))
                .order_by(CaseRow.id)
            )
            for linkedid, status in (await session.execute(stmt)).all():
                if linkedid:
                    found[linkedid] = status  # the latest case of a call wins
        return found
