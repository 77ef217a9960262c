"""create_app(config): all wiring in one place.

Order matters: the database context is entered first and left last, so calls
that finish while the AMI side shuts down are still written (or spooled).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.accounts.http import setup_auth, setup_auth_routes
from callcenter.accounts.roles import EVERYONE
from callcenter.accounts.service_token import service_token
from callcenter.agents.domain import AgentBoard, BoardSettings
from callcenter.agents.http import setup_agent_routes
from callcenter.agents.keys import AGENT_REPOSITORY, PROVISIONING
from callcenter.agents.provisioning import AgentProvisioning
from callcenter.agents.store import AgentRepository
from callcenter.agi.fastagi import FastAgiServer
from callcenter.ami.client import AmiClient
from callcenter.asr.http import asr_context, setup_transcript_routes
from callcenter.callbacks.dialer import Dialler
from callcenter.callbacks.http import setup_callback_routes
from callcenter.callbacks.keys import CALLBACKS, DIALLER, SCHEDULE, SOURCES, SURVEYS
from callcenter.callbacks.settings import scheduler_settings
from callcenter.callbacks.sources import CallbackSources
from callcenter.callbacks.store import CallbackRepository
from callcenter.callbacks.survey import Surveys
from callcenter.calls.http import get_call, list_calls
from callcenter.calls.keys import CALLLOG, RECORD_SINK, REPOSITORY, WRITER
from callcenter.calls.service import CallLogService, TrailSource
from callcenter.calls.sink import FanOut
from callcenter.calls.store import CallRepository
from callcenter.calls.tracker import CallTracker
from callcenter.calls.writer import CallWriter
from callcenter.compliance.facts import ComplianceSink
from callcenter.compliance.keys import COMPLIANCE
from callcenter.config import Config
from callcenter.dashboard.http import dashboard_context, setup_dashboard_routes
from callcenter.kernel.db import create_engine, create_session_factory
from callcenter.kernel.supervisor import TaskSupervisor
from callcenter.kernel.web import access
from callcenter.kernel.web.access import PUBLIC
from callcenter.kernel.web.errors import middlewares
from callcenter.kernel.web.keys import AGI, AMI, CONFIG, SUPERVISOR
from callcenter.ops.http import healthz, metrics, readyz
from callcenter.ops.keys import METRICS
from callcenter.ops.metrics import CallMetrics
from callcenter.panel.http import panel_context, setup_panel_routes
from callcenter.qa.console_http import setup_qa_console_routes
from callcenter.qa.http import qa_context, setup_qa_routes
from callcenter.reports.http import setup_report_routes
from callcenter.routing.decide import RouteSettings
from callcenter.routing.hours import OpeningHours, parse_shifts
from callcenter.routing.keys import ROUTER
from callcenter.routing.service import Router

log = logging.getLogger(__name__)


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[*middlewares(), access.access_middleware])
    app[CONFIG] = config
    access.table(app).authenticators.append(
        access.token_authenticator(service_token(config, create=True))
    )
    app[METRICS] = CallMetrics(config.ring)
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
    config = app[CONFIG]
    engine = create_engine(config.database.url)
    repository = CallRepository(create_session_factory(engine))
    writer = CallWriter(repository, config.database)
    await writer.start()
    app[REPOSITORY] = repository
    app[WRITER] = writer
    try:
        yield
    finally:
        await writer.close()
        await engine.dispose()


async def _telephony(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    client = AmiClient(config.ami)
    tracker = CallTracker(config.ring, config.tracker)
    sink = FanOut(app[WRITER], app[METRICS])
    service = CallLogService(
        client,
        tracker,
        sink,
        reconcile_interval=config.ami.reconcile_interval,
        trail=TrailSource(config.trail_path, config.tracker.trail_lookback),
    )
    detach = service.attach()
    unwatch = app[METRICS].watch(ami=client, calllog=service, writer=app[WRITER])
    supervisor = TaskSupervisor()
    supervisor.spawn("ami-connection", client.run())
    supervisor.spawn("calllog-ticks", service.run_ticks())
    app[AMI] = client
    app[CALLLOG] = service
    app[SUPERVISOR] = supervisor
    app[RECORD_SINK] = sink
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
    config = app[CONFIG]
    client = app[AMI]
    repository = AgentRepository(app[REPOSITORY].session_factory)
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
    callbacks = CallbackRepository(app[REPOSITORY].session_factory)
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
    surveys = Surveys(app[REPOSITORY].session_factory)
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
        app[RECORD_SINK].add(compliance),
        app[RECORD_SINK].add(sources),
        app[METRICS].watch_callbacks(dialler),
    ]
    supervisor = app[SUPERVISOR]
    supervisor.spawn("router-ticks", router.run_ticks())
    persistence = supervisor.spawn("router-persistence", router.run_persistence())
    if config.callbacks.enabled:
        supervisor.spawn("callback-dialler", dialler.run(config.callbacks.poll_seconds))
        supervisor.spawn("complaint-progress", sources.run_progress())
    app[CALLBACKS] = callbacks
    app[SCHEDULE] = schedule
    app[DIALLER] = dialler
    app[SURVEYS] = surveys
    app[SOURCES] = sources
    app[ROUTER] = router
    app[AGENT_REPOSITORY] = repository
    app[AGI] = server
    app[PROVISIONING] = provisioning
    app[COMPLIANCE] = compliance
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


def setup_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="ops")
    r("GET", "/healthz", healthz, roles=PUBLIC, summary="liveness")
    r("GET", "/readyz", readyz, roles=PUBLIC, summary="readiness: AMI and database")
    r("GET", "/metrics", metrics, roles=PUBLIC, summary="Prometheus metrics")
    r("GET", "/api/calls", list_calls, roles=EVERYONE, summary="the call log (agents: own calls)")
    r(
        "GET",
        "/api/calls/{linkedid}",
        get_call,
        roles=EVERYONE,
        summary="one call record (agents: own calls)",
    )
    setup_agent_routes(app)
    setup_auth_routes(app)
    setup_callback_routes(app)
    setup_dashboard_routes(app)
    setup_qa_console_routes(app)
    setup_panel_routes(app)
    setup_report_routes(app)
    setup_qa_routes(app)
    setup_transcript_routes(app)

