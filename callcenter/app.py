"""create_app(config): all wiring in one place.

Order matters: the database context is entered first and left last, so calls
that finish while the AMI side shuts down are still written (or spooled).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.accounts.service_token import service_token
from callcenter.agi.fastagi import FastAgiServer
from callcenter.ami.client import AmiClient
from callcenter.asterisk.agent_provisioning import AgentProvisioning
from callcenter.callbacks.dialler import Dialler
from callcenter.callbacks.settings import scheduler_settings
from callcenter.callbacks.sources import CallbackSources
from callcenter.callbacks.survey import Surveys
from callcenter.calllog.service import CallLogService, TrailSource
from callcenter.calllog.tracker import CallTracker
from callcenter.compliance.facts import ComplianceSink
from callcenter.config import Config
from callcenter.ops.metrics import CallMetrics, FanOut
from callcenter.persistence.agents_repository import AgentRepository
from callcenter.persistence.callbacks_repository import CallbackRepository
from callcenter.persistence.db import create_engine, create_session_factory
from callcenter.persistence.repository import CallRepository
from callcenter.persistence.writer import CallWriter
from callcenter.routing.decide import RouteSettings
from callcenter.routing.hours import OpeningHours, parse_shifts
from callcenter.routing.service import Router
from callcenter.state.agents import AgentBoard, BoardSettings
from callcenter.supervisor import TaskSupervisor
from callcenter.web import access, keys
from callcenter.web.auth import setup_auth
from callcenter.web.dashboard import dashboard_context
from callcenter.web.panel import panel_context
from callcenter.web.qa import qa_context
from callcenter.web.routes import setup_routes
from callcenter.web.transcripts import asr_context

log = logging.getLogger(__name__)


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[*keys.middlewares(), access.access_middleware])
    app[keys.CONFIG] = config
    access.table(app).authenticators.append(
        access.token_authenticator(service_token(config, create=True))
    )
    app[keys.METRICS] = CallMetrics(config.ring)
    app.cleanup_ctx.append(_database)
    setup_auth(app)  # accounts and the session-cookie authenticator (needs the database)
    app.cleanup_ctx.append(_telephony)
    app.cleanup_ctx.append(_routing)
    app.cleanup_ctx.append(panel_context)  # screen pops, click-to-call (after routing)
    app.cleanup_ctx.append(dashboard_context)
    app.cleanup_ctx.append(asr_context)
    app.cleanup_ctx.append(qa_context)  # recordings catalogue, retention, QA locks
    setup_routes(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    engine = create_engine(config.database.url)
    repository = CallRepository(create_session_factory(engine))
    writer = CallWriter(repository, config.database)
    await writer.start()
    app[keys.REPOSITORY] = repository
    app[keys.WRITER] = writer
    try:
        yield
    finally:
        await writer.close()
        await engine.dispose()


async def _telephony(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    client = AmiClient(config.ami)
    tracker = CallTracker(config.ring, config.tracker)
    sink = FanOut(app[keys.WRITER], app[keys.METRICS])
    service = CallLogService(
        client,
        tracker,
        sink,
        reconcile_interval=config.ami.reconcile_interval,
        trail=TrailSource(config.trail_path, config.tracker.trail_lookback),
    )
    detach = service.attach()
    unwatch = app[keys.METRICS].watch(ami=client, calllog=service, writer=app[keys.WRITER])
    supervisor = TaskSupervisor()
    supervisor.spawn("ami-connection", client.run())
    supervisor.spawn("calllog-ticks", service.run_ticks())
    app[keys.AMI] = client
    app[keys.CALLLOG] = service
    app[keys.SUPERVISOR] = supervisor
    app[keys.RECORD_SINK] = sink
    try:
        yield
    finally:
        await client.close()
        await supervisor.stop()
        detach()
        # Calls that ended but were still in their grace period: write them now.
        for record in tracker.expire(time.time() + config.tracker.finalize_grace):
            sink.submit(record)
        unwatch()
        if tracker.open_calls:
            log.info(
                "%d calls still in progress at shutdown; they are adopted on the next start",
                tracker.open_calls,
            )


async def _routing(app: web.Application) -> AsyncIterator[None]:
    """The router: agent board from the database, FastAGI for the dialplan, AMI events."""
    config = app[keys.CONFIG]
    client = app[keys.AMI]
    repository = AgentRepository(app[keys.REPOSITORY].session_factory)
    provisioning = AgentProvisioning(config, client)
    router = Router(
        AgentBoard(
            BoardSettings(
                wrap_up_seconds=config.router.wrap_up_seconds,
                max_missed=config.router.max_missed,
                pause_reasons=config.router.pause_reasons,
            )
        ),
        repository,
        RouteSettings(
            ring=config.ring,
            max_ring_per_agent=config.router.max_ring_per_agent,
            min_ring=config.router.min_ring,
        ),
        OpeningHours(parse_shifts(config.router.shifts), config.router.timezone),
        prompt_for=provisioning.prompts.playback,
        ami=client,
    )
    await router.load()
    callbacks = CallbackRepository(app[keys.REPOSITORY].session_factory)
    schedule = scheduler_settings(config.callbacks)
    dialler = Dialler(
        callbacks,
        router,
        client,
        schedule,
        skill=config.callbacks.skill,
        instance=config.callbacks.instance,
        agent_ring_seconds=config.callbacks.agent_ring_seconds,
        caller_id=config.callbacks.caller_id,
    )
    sources = CallbackSources(
        callbacks, repository, schedule, follow_up_share=config.callbacks.follow_up_share
    )
    router.on_callback_request = sources.on_request
    surveys = Surveys(app[keys.REPOSITORY].session_factory)
    handlers = {**router.handlers(), "callback-result": dialler.result, "survey": surveys.handle}
    server = FastAgiServer(config.router.agi_host, config.router.agi_port, handlers)
    await server.start()

    async def reconcile(ami: AmiClient) -> None:
        await provisioning.apply(list(router.board.agents.values()))
        result = await ami.list_action("CoreShowChannels")
        await router.reconcile(
            [(e.get("Channel") or "", e.get("Linkedid") or "") for e in result.events]
        )

    def staff_of(endpoint: str) -> str | None:
        agent = router.board.by_endpoint(endpoint)
        return agent.staff_no if agent is not None else None

    compliance = ComplianceSink(
        repository,
        config.recordings_dir,
        max_dead_air=config.router.max_dead_air,
        staff_of=staff_of,
    )
    undo = [
        client.subscribe(router.on_event),
        client.subscribe(dialler.on_event),
        client.on_connected(reconcile),
        app[keys.RECORD_SINK].add(compliance),
        app[keys.RECORD_SINK].add(sources),
        app[keys.METRICS].watch_callbacks(dialler),
    ]
    supervisor = app[keys.SUPERVISOR]
    supervisor.spawn("router-ticks", router.run_ticks())
    persistence = supervisor.spawn("router-persistence", router.run_persistence())
    if config.callbacks.enabled:
        supervisor.spawn("callback-dialler", dialler.run(config.callbacks.poll_seconds))
        supervisor.spawn("complaint-progress", sources.run_progress())
    app[keys.CALLBACKS] = callbacks
    app[keys.SCHEDULE] = schedule
    app[keys.DIALLER] = dialler
    app[keys.SURVEYS] = surveys
    app[keys.SOURCES] = sources
    app[keys.ROUTER] = router
    app[keys.AGENT_REPOSITORY] = repository
    app[keys.AGI] = server
    app[keys.PROVISIONING] = provisioning
    app[keys.COMPLIANCE] = compliance
    try:
        yield
    finally:
        await server.close()
        for u in undo:
            u()
        await compliance.drain()
        await sources.drain()
        try:
            await asyncio.wait_for(router.flush(), 5.0)
        except TimeoutError:
            log.warning("agent state changes not all saved at shutdown (database down?)")
        persistence.cancel()
