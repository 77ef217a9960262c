"""The recordings as other features use them: the catalogue (a record sink with its
background job), lookups for playback, and retention."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.recordings.catalog import RecordingCatalog
from callcenter.recordings.purge import PurgeResult, purge_recordings
from callcenter.recordings.recording import Recording
from callcenter.recordings.store import RecordingRepository


class Recordings:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], root: Path) -> None:
        self._repository = RecordingRepository(session_factory)
        self.catalog = RecordingCatalog(self._repository, root)

    async def get(self, recording_id: int) -> Recording | None:
        return await self._repository.get(recording_id)

    async def for_call(self, linkedid: str) -> list[Recording]:
        return await self._repository.for_call(linkedid)

    async def purge(
        self,
        held_linkedids: Callable[[], Awaitable[Collection[str]]],
        *,
        retention_days: int,
        now: float,
        dry_run: bool = False,
    ) -> PurgeResult:
        """Delete the files past retention, except the calls `held_linkedids` holds."""
        return await purge_recordings(
            self._repository,
            held_linkedids,
            self.catalog.root,
            retention_days=retention_days,
            now=now,
            dry_run=dry_run,
        )
