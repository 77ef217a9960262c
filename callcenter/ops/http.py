"""Operations over HTTP: liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

import functools

from aiohttp import web

from callcenter.calls.keys import WRITER
from callcenter.kernel.web import access
from callcenter.kernel.web.access import PUBLIC
from callcenter.kernel.web.keys import AMI
from callcenter.ops.keys import METRICS
from callcenter.ops.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    ami = app[AMI]
    writer = app[WRITER]
    checks: dict[str, dict[str, object]] = {
        "ami": {"ok": ami.connected, "state": ami.state.value},
        "database": {"ok": writer.healthy, "backlog": writer.backlog},
    }
    ready = ami.connected and writer.healthy
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


def setup_ops_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="ops")
    r("GET", "/healthz", healthz, roles=PUBLIC, summary="liveness")
    r("GET", "/readyz", readyz, roles=PUBLIC, summary="readiness: AMI and database")
    r("GET", "/metrics", metrics, roles=PUBLIC, summary="Prometheus metrics")
