"""The call log over HTTP: list and read call records (agents see their own calls)."""

from __future__ import annotations

import functools

from aiohttp import web

from callcenter.calls.keys import REPOSITORY
from callcenter.kernel.roles import EVERYONE
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import (
    ApiError,
)
from callcenter.kernel.web.request import MAX_LIMIT, int_param


async def list_calls(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 50, 1, MAX_LIMIT)
    offset = int_param(request, "offset", 0, 0, 10**9)
    records = await request.app[REPOSITORY].list_calls(
        limit=limit, offset=offset, handled_by=access.agent_scope(request)
    )
    return web.json_response({"calls": [r.to_json() for r in records]})


async def get_call(request: web.Request) -> web.Response:
    linkedid = request.match_info["linkedid"]
    repository = request.app[REPOSITORY]
    record = await repository.get(linkedid)
    own = access.agent_scope(request)
    if record is not None and own is not None and not await repository.handled(own, [linkedid]):
        record = None  # another agent's call: as if it did not exist
    if record is None:
        raise ApiError(
            404, "call-not-found", f"no call with linkedid {linkedid}", linkedid=linkedid
        )
    return web.json_response(record.to_json())


def setup_call_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="ops")
    r("GET", "/api/calls", list_calls, roles=EVERYONE, summary="the call log (agents: own calls)")
    r(
        "GET",
        "/api/calls/{linkedid}",
        get_call,
        roles=EVERYONE,
        summary="one call record (agents: own calls)",
    )
