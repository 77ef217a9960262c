"""The QA parts wired over one database: for the app (callcenter.qa.http) and the CLI alike."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.accounts.service import enabled_users
from callcenter.audit.service import AuditLog
from callcenter.config import Config, QaConfig
from callcenter.kernel.roles import Role
from callcenter.kernel.shifts import parse_shifts
from callcenter.qa.assignment_service import AssignmentService
from callcenter.qa.assignment_store import AssignmentStore
from callcenter.qa.draw_service import DrawService
from callcenter.qa.draw_store import DrawStore
from callcenter.qa.evaluation_service import EvaluationService
from callcenter.qa.evaluation_store import EvaluationStore
from callcenter.qa.report_service import ReportService
from callcenter.qa.report_store import ReportStore
from callcenter.qa.scoring import score_form
from callcenter.recordings.catalog import RecordingCatalog
from callcenter.recordings.purge import PurgeResult
from callcenter.recordings.service import Recordings

log = logging.getLogger(__name__)


@dataclass
class QaState:
    settings: QaConfig
    draws: DrawService
    assignments: AssignmentService
    evaluations: EvaluationService
    reports: ReportService
    recordings: Recordings
    audit: AuditLog
    catalog: RecordingCatalog

    async def purge(self, *, dry_run: bool = False) -> PurgeResult:
        return await self.recordings.purge(
            self.evaluations.store.held_linkedids,
            retention_days=self.settings.retention_days,
            now=time.time(),
            dry_run=dry_run,
        )

    async def housekeeping(self) -> PurgeResult:
        """Automatic locks, retention, and files the catalogue missed."""
        locked = await self.evaluations.auto_lock()
        if locked:
            log.info("QA: %d evaluations locked automatically", locked)
        result = await self.purge()
        await self.catalog.backfill()
        return result


def make_qa(config: Config, factory: async_sessionmaker[AsyncSession]) -> QaState:
    async def inspectors() -> dict[str, int | None]:
        """Users with the qa role (disabled ones take no new samples)."""
        return {name: user_id for name, user_id in (await enabled_users(factory, Role.QA)).items()}

    settings = config.qa
    score_form(settings)  # a bad scoring form stops here, before any work
    timezone = config.router.timezone
    assignments = AssignmentService(AssignmentStore(factory), settings, inspectors=inspectors)
    draw_store = DrawStore(factory)
    draws = DrawService(
        draw_store,
        settings,
        assignments,
        timezone=timezone,
        shifts=parse_shifts(config.router.shifts),
        failed_checks=draw_store.failed_checks,
        complaint_category=config.router.complaint_category,
    )
    report_store = ReportStore(factory)
    reports = ReportService(
        report_store, settings, timezone=timezone, failed_checks=report_store.failed_checks
    )
    recordings = Recordings(factory, config.recordings_dir)
    return QaState(
        settings,
        draws,
        assignments,
        EvaluationService(EvaluationStore(factory), settings),
        reports,
        recordings,
        AuditLog(factory),
        recordings.catalog,
    )
