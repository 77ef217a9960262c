"""create_app(config): all wiring in one place.

Order matters: the database context is entered first and left last, so calls
that finish while the AMI side shuts down are still written (or spooled).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.ami.client import AmiClient
from callcenter.calllog.service import CallLogService, TrailSource
from callcenter.calllog.tracker import CallTracker
from callcenter.config import Config
from callcenter.ops.metrics import CallMetrics, FanOut
from callcenter.persistence.db import create_engine, create_session_factory
from callcenter.persistence.repository import CallRepository
from callcenter.persistence.writer import CallWriter
from callcenter.supervisor import TaskSupervisor
from callcenter.web import keys
from callcenter.web.routes import setup_routes

log = logging.getLogger(__name__)


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=keys.middlewares())
    app[keys.CONFIG] = config
    app[keys.METRICS] = CallMetrics(config.ring)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_telephony)
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
