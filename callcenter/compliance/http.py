"""HTTP API for compliance: one call's facts, within the reader's row rule ("compliance":
inspectors only the calls assigned to them; a call refused answers as one with no facts)."""

from __future__ import annotations

from aiohttp import web

from callcenter.calls.keys import CALL_SCOPE
from callcenter.compliance.keys import COMPLIANCE_REPOSITORY
from callcenter.kernel.roles import STAFF
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import ApiError

COMPLIANCE = "compliance"  # the row rule (callcenter.kernel.web.rows)


async def compliance(request: web.Request) -> web.Response:
    linkedid = request.match_info["linkedid"]
    facts = None
    if await request.app[CALL_SCOPE].may_read(access.principal(request), linkedid, COMPLIANCE):
        facts = await request.app[COMPLIANCE_REPOSITORY].get(linkedid)
    if facts is None:
        raise ApiError(404, "compliance-not-found", "no compliance facts for this call yet")
    return web.json_response(facts.to_json())


def setup_compliance_routes(app: web.Application) -> None:
    # Tagged with the agents' routes, where the API has always listed it.
    access.route(
        app,
        "GET",
        "/api/calls/{linkedid}/compliance",
        compliance,
        roles=STAFF,
        summary="compliance facts of one call (inspectors: assigned calls only)",
        tag="agents",
        rows=COMPLIANCE,
    )
