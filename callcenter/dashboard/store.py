"""The few database reads the live dashboard makes: at start and on a slow reconciliation.

Never on the live path: the dashboard's numbers come from the event stream;
these seed what the stream cannot replay (compliance flags of the last day,
open complaint cases) and correct drift every few minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agents.tables import CaseRow
from callcenter.compliance.tables import CallComplianceRow


@dataclass(frozen=True)
class FlagRow:
    staff_no: str
    linkedid: str
    flags: tuple[str, ...]
    measured_at: float


@dataclass(frozen=True)
class OpenCase:
    id: int
    owner: str
    caller_number: str
    opened_at: float
    reply_due_at: float | None


class DashboardQueries:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def compliance_since(self, since: float) -> list[FlagRow]:
        """Calls measured since `since` that raised a flag (dead air, hung up first...)."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    sa.select(CallComplianceRow)
                    .where(CallComplianceRow.measured_at >= datetime.fromtimestamp(since, UTC))
                    .order_by(CallComplianceRow.measured_at)
                )
            ).all()
        return [
            FlagRow(r.staff_no or "", r.linkedid, tuple(r.flags), r.measured_at.timestamp())
            for r in rows
            if r.flags and r.staff_no
        ]

    async def open_complaints(self) -> list[OpenCase]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    sa.select(CaseRow).where(CaseRow.status == "open", CaseRow.kind == "complaint")
                )
            ).all()
        return [
            OpenCase(
                r.id,
                r.owner,
                r.caller_number,
                r.opened_at.timestamp(),
                None if r.reply_due_at is None else r.reply_due_at.timestamp(),
            )
            for r in rows
        ]
