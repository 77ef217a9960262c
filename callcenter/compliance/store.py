"""The per-call compliance facts in the database: one row per call, the last measure wins."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.compliance.domain import Compliance
from callcenter.compliance.tables import CallComplianceRow
from callcenter.kernel.clock import to_datetime, to_epoch
from callcenter.kernel.db import upsert


class ComplianceRepository:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def save(self, facts: Compliance, measured_at: float) -> None:
        async with self._sessions() as session, session.begin():
            insert = upsert(session.get_bind().dialect.name, CallComplianceRow.__table__)  # type: ignore[arg-type]
            values = {
                "linkedid": facts.linkedid,
                "staff_no": facts.staff_no,
                "connected_at": to_datetime(facts.connected_at),
                "dead_air_seconds": facts.dead_air_seconds,
                "agent_hung_up_first": facts.agent_hung_up_first,
                "greeting_played": facts.greeting_played,
                "flags": list(facts.flags),
                "measured_at": to_datetime(measured_at),
            }
            stmt = insert.values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["linkedid"],
                set_={k: stmt.excluded[k] for k in values if k != "linkedid"},
            )
            await session.execute(stmt)

    async def get(self, linkedid: str) -> Compliance | None:
        async with self._sessions() as session:
            row = await session.scalar(
                sa.select(CallComplianceRow).where(CallComplianceRow.linkedid == linkedid)
            )
        if row is None:
            return None
        return Compliance(
            linkedid=row.linkedid,
            staff_no=row.staff_no,
            connected_at=to_epoch(row.connected_at),
            dead_air_seconds=row.dead_air_seconds,
            agent_hung_up_first=row.agent_hung_up_first,
            greeting_played=row.greeting_played,
            flags=tuple(row.flags),
        )
