"""The audit log's rows: only ever added, searched newest first."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.audit.domain import AuditEntry
from callcenter.audit.tables import audit_table
from callcenter.kernel.clock import to_datetime


class AuditRepository:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def record(self, entry: AuditEntry) -> None:
        async with self._session_factory() as session, session.begin():
            await session.execute(
                sa.insert(audit_table).values(
                    at=to_datetime(entry.at),
                    actor=entry.actor,
                    role=entry.role,
                    action=entry.action,
                    object_type=entry.object_type,
                    object_id=entry.object_id,
                    ip=entry.ip,
                    details=entry.details,
                )
            )

    async def search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Newest first."""
        query = sa.select(audit_table)
        for column, value in (
            (audit_table.c.actor, actor),
            (audit_table.c.action, action),
            (audit_table.c.object_type, object_type),
            (audit_table.c.object_id, object_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(audit_table.c.at >= to_datetime(since))
        query = query.order_by(audit_table.c.at.desc(), audit_table.c.id.desc())
        async with self._session_factory() as session:
            rows = (await session.execute(query.limit(limit).offset(offset))).all()
        return [
            AuditEntry(
                id=r.id,
                at=r.at.timestamp(),
                actor=r.actor,
                role=r.role,
                action=r.action,
                object_type=r.object_type,
                object_id=r.object_id,
                ip=r.ip,
                details=dict(r.details or {}),
            )
            for r in rows
        ]
