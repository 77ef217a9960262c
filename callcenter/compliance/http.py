"""HTTP API for compliance: one call's facts."""

from __future__ import annotations

from aiohttp import web

from callcenter.compliance.keys import COMPLIANCE_REPOSITORY
from callcenter.kernel.roles import STAFF
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import ApiError


async def compliance(request: web.Request) -> web.Response:
    facts = await request.app[COMPLIANCE_REPOSITORY].get(request.match_info["linkedid"])
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
        summary="compliance facts of one call",
        tag="agents",
    )
