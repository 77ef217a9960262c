"""The audit log as other features use it: write an entry, search the entries."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.audit.domain import AuditEntry
from callcenter.audit.store import AuditRepository


class AuditLog:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._repository = AuditRepository(session_factory)

    async def record(self, entry: AuditEntry) -> None:
        """Raises when the entry cannot be written: callers refuse what cannot be audited."""
        await self._repository.record(entry)

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
        return await self._repository.search(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            since=since,
            limit=limit,
            offset=offset,
        )
