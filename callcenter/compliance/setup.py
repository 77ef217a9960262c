"""Compliance in the app: per-call facts (dead air at the start, who hung up first) from
every finished call record, stored for the agent's QA and the dashboard's flags; the route
that shows one call's facts."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.agents.keys import AGENTS
from callcenter.calls.keys import RECORD_SINK
from callcenter.compliance.facts import ComplianceSink
from callcenter.compliance.http import setup_compliance_routes
from callcenter.compliance.keys import COMPLIANCE, COMPLIANCE_REPOSITORY
from callcenter.compliance.store import ComplianceRepository
from callcenter.config import Config
from callcenter.kernel.web.keys import CONFIG, SESSIONS


def setup(app: web.Application, config: Config) -> None:
    app.cleanup_ctx.append(_compliance)
    setup_compliance_routes(app)


async def _compliance(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    repository = ComplianceRepository(app[SESSIONS])
    compliance = ComplianceSink(
        repository,
        config.recordings_dir,
        max_dead_air=config.router.max_dead_air,
        staff_of=app[AGENTS].staff_of,
    )
    remove = app[RECORD_SINK].add(compliance)
    app[COMPLIANCE] = compliance
    app[COMPLIANCE_REPOSITORY] = repository
    try:
        yield
    finally:
        remove()
        await compliance.drain()
