"""The live supervisor dashboard in the app: the in-memory model fed by AMI, the record sink,
the agent board and the router, broadcast to each client through its own bounded queue; its
routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.agents.keys import AGENTS
from callcenter.callbacks.keys import DIALER
from callcenter.calls.keys import RECORD_SINK
from callcenter.compliance.keys import COMPLIANCE
from callcenter.config import Config
from callcenter.dashboard.definitions import MetricSettings
from callcenter.dashboard.http import setup_dashboard_routes
from callcenter.dashboard.keys import DASHBOARD
from callcenter.dashboard.live import LiveModel
from callcenter.dashboard.service import DashboardService
from callcenter.dashboard.store import DashboardQueries
from callcenter.kernel.fanout import SHUTDOWN, Broadcaster
from callcenter.kernel.web.keys import AMI, CONFIG, SESSIONS, SUPERVISOR
from callcenter.routing.keys import ROUTER

log = logging.getLogger(__name__)


def setup(app: web.Application, config: Config) -> None:
    app.cleanup_ctx.append(dashboard_context)
    app.on_shutdown.append(_close_clients)
    setup_dashboard_routes(app)


async def dashboard_context(app: web.Application) -> AsyncIterator[None]:
    """Build the live model from the app's AMI stream, record sink, agent board and router;
    no polling."""
    config = app[CONFIG]
    agents = app[AGENTS]
    router = app[ROUTER]
    ami = app[AMI]
    settings = config.dashboard
    model = LiveModel(
        MetricSettings(config.ring, settings.short_abandon_seconds),
        inbound_contexts=frozenset(config.tracker.inbound_contexts),
        default_queue=config.router.skill,
        case_warn_seconds=settings.case_warn_hours * 3600.0,
        callback_queue=config.callbacks.skill,
    )
    service = DashboardService(
        model,
        agents.board,
        Broadcaster(maxsize=settings.client_queue, name="dashboard"),
        coalesce=settings.coalesce_seconds,
        waiting=lambda: router.waiting,
        callbacks=app[DIALER],
        queries=DashboardQueries(app[SESSIONS]),
        reconcile_seconds=settings.reconcile_seconds,
    )
    await service.load()
    compliance = app[COMPLIANCE]
    compliance.listeners.append(service.on_compliance)
    undo = [
        ami.subscribe(service.on_event),
        ami.on_connected(service.reconcile),
        app[RECORD_SINK].add(service),
        agents.watch(service.on_transitions),
    ]
    supervisor = app[SUPERVISOR]
    tasks = [
        supervisor.spawn("dashboard-ticks", service.run_ticks()),
        supervisor.spawn("dashboard-cases", service.run_cases()),
        supervisor.spawn(
            "dashboard-reconcile", service.run_reconcile(ami, config.ami.reconcile_interval)
        ),
    ]
    if ami.connected:
        tasks.append(supervisor.spawn("dashboard-first-reconcile", service.reconcile(ami)))
    app[DASHBOARD] = service
    try:
        yield
    finally:
        service.broadcaster.close_all(SHUTDOWN)
        for u in undo:
            u()
        if service.on_compliance in compliance.listeners:
            compliance.listeners.remove(service.on_compliance)
        await supervisor.cancel(tasks)


async def _close_clients(app: web.Application) -> None:
    """At shutdown, end the WebSockets first: the server would otherwise wait on them."""
    if DASHBOARD in app:
        app[DASHBOARD].broadcaster.close_all(SHUTDOWN)
