"""The call log in the app: the store and its outage-proof writer, the AMI connection and
the call tracker that turns its events into records, and the call-log routes.

Calls owns the AMI connection because it is the stream's first consumer: it
subscribes before the connection starts, so no call is missed; the other
features subscribe to the same client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.ami.client import AmiClient
from callcenter.calls.http import setup_call_routes
from callcenter.calls.keys import CALL_SCOPE, CALLLOG, RECORD_SINK, REPOSITORY, WRITER
from callcenter.calls.scope import CallScope
from callcenter.calls.service import CallLogService, TrailSource
from callcenter.calls.sink import FanOut
from callcenter.calls.store import CallRepository
from callcenter.calls.tracker import CallTracker
from callcenter.calls.writer import CallWriter
from callcenter.config import Config
from callcenter.kernel.web.keys import AMI, CONFIG, SESSIONS, SUPERVISOR

log = logging.getLogger(__name__)


def setup(app: web.Application, config: Config) -> None:
    app.cleanup_ctx.append(_store)
    app.cleanup_ctx.append(_telephony)
    setup_call_routes(app)


async def _store(app: web.Application) -> AsyncIterator[None]:
    repository = CallRepository(app[SESSIONS])
    writer = CallWriter(repository, app[CONFIG].database)
    await writer.start()
    app[REPOSITORY] = repository
    app[CALL_SCOPE] = CallScope(repository)
    app[WRITER] = writer
    try:
        yield
    finally:
        await writer.close()


async def _telephony(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    client = AmiClient(config.ami)
    tracker = CallTracker(config.ring, config.tracker)
    sink = FanOut(app[WRITER])
    service = CallLogService(
        client,
        tracker,
        sink,
        reconcile_interval=config.ami.reconcile_interval,
        trail=TrailSource(config.trail_path, config.tracker.trail_lookback),
    )
    detach = service.attach()
    supervisor = app[SUPERVISOR]
    tasks = [
        supervisor.spawn("ami-connection", client.run()),
        supervisor.spawn("calllog-ticks", service.run_ticks()),
    ]
    app[AMI] = client
    app[CALLLOG] = service
    app[RECORD_SINK] = sink
    try:
        yield
    finally:
        await client.close()
        await supervisor.cancel(tasks)
        detach()
        # Calls that ended but were still in their grace period: write them now.
        for record in tracker.expire(time.time() + config.tracker.finalize_grace):
            sink.submit(record)
        if tracker.open_calls:
            log.info(
                "%d calls still in progress at shutdown; they are adopted on the next start",
                tracker.open_calls,
            )
