"""Operations in the app: the Prometheus metrics (fed every finished call record and read
from the AMI client, call log and writer at scrape time) and the health routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.calls.keys import CALLLOG, RECORD_SINK, WRITER
from callcenter.config import Config
from callcenter.kernel.web.keys import AMI
from callcenter.ops.http import setup_ops_routes
from callcenter.ops.keys import METRICS
from callcenter.ops.metrics import CallMetrics


def setup(app: web.Application, config: Config) -> None:
    """Metrics exist from the start: features set up later register their own gauges."""
    app[METRICS] = CallMetrics(config.ring)
    app.cleanup_ctx.append(_watch)
    setup_ops_routes(app)


async def _watch(app: web.Application) -> AsyncIterator[None]:
    metrics = app[METRICS]
    # Added right after the writer, before any other sink: the order records are seen in.
    # Never removed: the records written while the app stops are counted too.
    app[RECORD_SINK].add(metrics)
    unwatch = metrics.watch(ami=app[AMI], calllog=app[CALLLOG], writer=app[WRITER])
    try:
        yield
    finally:
        unwatch()
