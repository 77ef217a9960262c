"""Callbacks in the app: the store, the agent-first dialer, the sources that open callbacks
(abandoned calls, press 1, complaints, follow-ups), the satisfaction survey, their FastAGI
scripts and routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.agents.keys import AGENTS
from callcenter.callbacks.dialer import Dialer
from callcenter.callbacks.http import setup_callback_routes
from callcenter.callbacks.keys import CALLBACKS, DIALER, SCHEDULE, SURVEYS
from callcenter.callbacks.settings import scheduler_settings
from callcenter.callbacks.sources import CallbackSources
from callcenter.callbacks.store import CallbackRepository
from callcenter.callbacks.survey import Surveys
from callcenter.calls.keys import RECORD_SINK
from callcenter.config import Config
from callcenter.kernel.web.keys import AGI, AMI, CONFIG, SESSIONS, SUPERVISOR
from callcenter.ops.keys import METRICS
from callcenter.routing.keys import ROUTER


def setup(app: web.Application, config: Config) -> None:
    app.cleanup_ctx.append(_callbacks)
    setup_callback_routes(app)


async def _callbacks(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    client = app[AMI]
    agents = app[AGENTS]
    router = app[ROUTER]
    supervisor = app[SUPERVISOR]
    callbacks = CallbackRepository(app[SESSIONS])
    schedule = scheduler_settings(config.callbacks)
    dialer = Dialer(
        callbacks,
        agents,
        client,
        schedule,
        waiting=lambda: router.waiting,
        skill=config.callbacks.skill,
        instance=config.callbacks.instance,
        agent_ring_seconds=config.callbacks.agent_ring_seconds,
        caller_id=config.callbacks.caller_id,
        supervisor=supervisor,
    )
    sources = CallbackSources(
        callbacks,
        agents,
        schedule,
        follow_up_share=config.callbacks.follow_up_share,
    )
    surveys = Surveys(app[SESSIONS], agents)
    router.on_callback_request = sources.on_request
    server = app[AGI]
    undo = [
        # First, before anything awaits: the FastAGI server already listens.
        server.add("callback-result", dialer.result),
        server.add("survey", surveys.handle),
        client.subscribe(dialer.on_event),
        app[RECORD_SINK].add(sources),
        app[METRICS].watch_callbacks(dialer),
        app[METRICS].watch_callback_requests(sources),
        # A wrap-up's complaint case: its reply callback, or the follow-up once resolved.
        agents.watch_cases(sources.on_case),
    ]
    tasks: list[asyncio.Task[None]] = []
    if config.callbacks.enabled:
        poll = config.callbacks.poll_seconds
        tasks.append(supervisor.spawn("callback-dialler", dialer.run(poll)))
        tasks.append(supervisor.spawn("complaint-progress", sources.run_progress()))
    app[CALLBACKS] = callbacks
    app[SCHEDULE] = schedule
    app[DIALER] = dialer
    app[SURVEYS] = surveys
    try:
        yield
    finally:
        for u in undo:
            u()
        await sources.drain()
        await supervisor.cancel(tasks)
