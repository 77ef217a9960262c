"""HTTP API of the foundation: health, readiness and the call log."""

from __future__ import annotations

import functools

from aiohttp import web

from callcenter.accounts.roles import EVERYONE
from callcenter.ops.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from callcenter.web import access, keys
from callcenter.web.access import PUBLIC
from callcenter.web.agents import setup_agent_routes
from callcenter.web.auth import setup_auth_routes
from callcenter.web.callbacks import setup_callback_routes
from callcenter.web.dashboard import setup_dashboard_routes
from callcenter.web.keys import ApiError
from callcenter.web.panel import setup_panel_routes
from callcenter.web.qa import setup_qa_routes
from callcenter.web.qa_console import setup_qa_console_routes
from callcenter.web.reports import setup_report_routes
from callcenter.web.transcripts import setup_transcript_routes

MAX_LIMIT = 500


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad-parameter", f"{name} must be an integer", got=raw) from None
    if not low <= value <= high:
        raise ApiError(400, "bad-parameter", f"{name} must be between {low} and {high}", got=value)
    return value


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    ami = app[keys.AMI]
    writer = app[keys.WRITER]
    checks: dict[str, dict[str, object]] = {
        "ami": {"ok": ami.connected, "state": ami.state.value},
        "database": {"ok": writer.healthy, "backlog": writer.backlog},
    }
    ready = ami.connected and writer.healthy
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def list_calls(request: web.Request) -> web.Response:
    limit = _int_param(request, "limit", 50, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    records = await request.app[keys.REPOSITORY].list_calls(
        limit=limit, offset=offset, handled_by=access.agent_scope(request)
    )
    return web.json_response({"calls": [r.to_json() for r in records]})


async def get_call(request: web.Request) -> web.Response:
    linkedid = request.match_info["linkedid"]
    repository = request.app[keys.REPOSITORY]
    record = await repository.get(linkedid)
    own = access.agent_scope(request)
    if record is not None and own is not None and not await repository.handled(own, [linkedid]):
        record = None  # another agent's call: as if it did not exist
    if record is None:
        raise ApiError(
            404, "call-not-found", f"no call with linkedid {linkedid}", linkedid=linkedid
        )
    return web.json_response(record.to_json())


async def metrics(request: web.Request) -> web.Response:
    body = request.app[keys.METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


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
