"""The QA parts wired over one database: for the app (callcenter.qa.http) and the CLI alike."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.accounts.roles import Role
from callcenter.accounts.store import AccountRepository
from callcenter.audit.store import AuditRepository
from callcenter.config import Config
from callcenter.qa.service import QaService
from callcenter.qa.store import QaRepository
from callcenter.recordings.catalog import RecordingCatalog
from callcenter.recordings.purge import PurgeResult, purge_recordings
from callcenter.recordings.store import RecordingRepository
from callcenter.routing.hours import parse_shifts

log = logging.getLogger(__name__)


@dataclass
class QaState:
    service: QaService
    recordings: RecordingRepository
    audit: AuditRepository
    catalog: RecordingCatalog

    async def purge(self, *, dry_run: bool = False) -> PurgeResult:
        return await purge_recordings(
            self.recordings,
            self.service.repository.held_linkedids,
            self.catalog.root,
            retention_days=self.service.settings.retention_days,
            now=time.time(),
            dry_run=dry_run,
        )

    async def housekeeping(self) -> PurgeResult:
        """Automatic locks, retention, and files the catalogue missed."""
        locked = await self.service.auto_lock()
        if locked:
            log.info("QA: %d evaluations locked automatically", locked)
        result = await self.purge()
        await self.catalog.backfill()
        return result


def make_qa(config: Config, factory: async_sessionmaker[AsyncSession]) -> QaState:
    repository = QaRepository(factory)
    accounts = AccountRepository(factory)

    async def inspectors() -> dict[str, int | None]:
        """Users with the qa role (disabled ones take no new samples)."""
        return {
            u.username: u.id
            for u in await accounts.list_users()
            if u.role is Role.QA and not u.disabled
        }

    service = QaService(
        repository,
        config.qa,
        timezone=config.router.timezone,
        shifts=parse_shifts(config.router.shifts),
        inspectors=inspectors,
        failed_checks=repository.failed_checks,
        complaint_category=config.router.complaint_category,
    )
    recordings = RecordingRepository(factory)
    return QaState(
        service,
        recordings,
        AuditRepository(factory),
        RecordingCatalog(recordings, config.recordings_dir),
    )
