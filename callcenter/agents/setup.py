"""Agents in the app: their store, the board loaded from it and kept saved (the agent
service), the Asterisk side of each agent (PJSIP endpoint and staff-number prompt,
provisioned over AMI) and the agent routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.agents.domain import AgentBoard, BoardSettings
from callcenter.agents.http import setup_agent_routes
from callcenter.agents.keys import AGENT_REPOSITORY, AGENTS, PROVISIONING
from callcenter.agents.provisioning import AgentProvisioning
from callcenter.agents.service import AgentService
from callcenter.agents.store import AgentRepository, handled_by
from callcenter.calls.keys import REPOSITORY
from callcenter.config import Config
from callcenter.kernel.web.keys import AMI, CONFIG, SESSIONS, SUPERVISOR

log = logging.getLogger(__name__)


def setup(app: web.Application, config: Config) -> None:
    app.cleanup_ctx.append(_agents)
    setup_agent_routes(app)


async def _agents(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    repository = AgentRepository(app[SESSIONS])
    provisioning = AgentProvisioning(config, app[AMI])
    agents = AgentService(
        AgentBoard(
            BoardSettings(
                wrap_up_seconds=config.router.wrap_up_seconds,
                max_missed=config.router.max_missed,
                pause_reasons=config.router.pause_reasons,
            )
        ),
        repository,
        phones=provisioning.registered,
    )
    await agents.load()
    supervisor = app[SUPERVISOR]
    # Named as when the router ran them: the names show in the logs.
    tasks = [
        supervisor.spawn("router-ticks", agents.run_ticks()),
        supervisor.spawn("router-persistence", agents.run_persistence()),
    ]
    # The call log's "agents see their own calls": who took which call is ours to say.
    unset_handled_by = app[REPOSITORY].set_handled_by(handled_by)
    app[AGENT_REPOSITORY] = repository
    app[PROVISIONING] = provisioning
    app[AGENTS] = agents
    try:
        yield
    finally:
        unset_handled_by()
        try:
            await asyncio.wait_for(agents.flush(), 5.0)
        except TimeoutError:
            log.warning("agent state changes not all saved at shutdown (database down?)")
        await supervisor.cancel(tasks)
