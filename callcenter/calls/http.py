"""The call log over HTTP: list and read call records, within the reader's row rule.

Agents see the calls they handled, inspectors the calls assigned to them for QA
(masked), managers every call (`callcenter.calls.scope`, row resource "calls").
A call the reader may not see answers like one that does not exist.
"""

from __future__ import annotations

import functools

from aiohttp import web

from callcenter.calls.keys import CALL_SCOPE, REPOSITORY
from callcenter.calls.scope import CALLS
from callcenter.kernel.roles import EVERYONE
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import (
    ApiError,
)
from callcenter.kernel.web.request import MAX_LIMIT, int_param


async def list_calls(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 50, 1, MAX_LIMIT)
    offset = int_param(request, "offset", 0, 0, 10**9)
    who = access.principal(request)
    scope = request.app[CALL_SCOPE]
    records = await request.app[REPOSITORY].list_calls(
        limit=limit, offset=offset, where=scope.where(who)
    )
    return web.json_response({"calls": [scope.present(who, r.to_json()) for r in records]})


async def get_call(request: web.Request) -> web.Response:
    linkedid = request.match_info["linkedid"]
    who = access.principal(request)
    scope = request.app[CALL_SCOPE]
    record = None
    if await scope.may_read(who, linkedid):
        record = await request.app[REPOSITORY].get(linkedid)
    if record is None:  # another's call: as if it did not exist
        raise ApiError(
            404, "call-not-found", f"no call with linkedid {linkedid}", linkedid=linkedid
        )
    return web.json_response(scope.present(who, record.to_json()))


def setup_call_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="ops", rows=CALLS)
    r(
        "GET",
        "/api/calls",
        list_calls,
        roles=EVERYONE,
        summary="the call log (agents: own calls; inspectors: assigned calls, masked)",
    )
    r(
        "GET",
        "/api/calls/{linkedid}",
        get_call,
        roles=EVERYONE,
        summary="one call record (agents: own calls; inspectors: assigned calls, masked)",
    )
