"""The row-level table: scopes per role, its agreement with route policies, the refusal hook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callcenter.kernel.errors import DomainError
from callcenter.kernel.roles import EVERYONE, STAFF, Principal, Role
from callcenter.kernel.web import access, rows
from callcenter.kernel.web.errors import ApiError, middlewares
from callcenter.kernel.web.openapi import build
from callcenter.kernel.web.rows import ROWS, Scope

AGENT = Principal("a", Role.AGENT, staff_no="1001")
QA = Principal("q", Role.QA)
SUPERVISOR = Principal("s", Role.SUPERVISOR)
ADMIN = Principal("root", Role.ADMIN)


def test_managers_read_every_row_of_every_resource() -> None:
    for resource in ROWS:
        assert rows.scope(resource, SUPERVISOR) is Scope.ALL
        assert rows.scope(resource, ADMIN) is Scope.ALL
        assert not rows.masked(resource, SUPERVISOR) or resource in {"transcripts", "qa-samples"}


def test_the_issue_19_rules_read_from_the_table() -> None:
    # qa: no agent actions, only assigned calls, masked; agents: their own rows.
    assert rows.scope("agent", QA) is Scope.NONE
    assert rows.scope("agent", AGENT) is Scope.OWN
    assert rows.scope("calls", QA) is Scope.ASSIGNED and rows.masked("calls", QA)
    assert rows.scope("calls", AGENT) is Scope.OWN and not rows.masked("calls", AGENT)
    assert rows.scope("compliance", QA) is Scope.ASSIGNED
    assert rows.scope("contacts", AGENT) is Scope.OWN
    assert rows.scope("contacts", QA) is Scope.NONE
    assert rows.scope("callbacks", QA) is Scope.NONE
    assert rows.rule("recordings").refused.audited
    with pytest.raises(ValueError, match="no row rule"):
        rows.rule("no-such-resource")


def test_a_route_whose_roles_contradict_its_row_rule_is_refused_at_registration() -> None:
    rows.check_route("calls", EVERYONE, "GET /api/calls")
    rows.check_route("agent", frozenset({Role.AGENT, Role.SUPERVISOR}), "POST /x")
    with pytest.raises(ValueError, match="contradict the row rule 'agent'"):
        rows.check_route("agent", EVERYONE, "POST /x")  # would let qa act on agents
    with pytest.raises(ValueError, match="contradict"):
        rows.check_route("compliance", EVERYONE, "GET /y")  # agents have no compliance rows
    app = web.Application()

    async def nothing(request: web.Request) -> web.Response:
        return web.Response()

    with pytest.raises(ValueError, match="pass on_refused"):
        access.route(app, "GET", "/r/{id}", nothing, roles=STAFF, summary="r", rows="recordings")
    with pytest.raises(ValueError, match="public route"):
        access.route(app, "GET", "/p", nothing, roles=access.PUBLIC, summary="p", rows="calls")
    assert access.table(app).policies == {}  # nothing half-registered


def test_every_rule_describes_itself_for_the_openapi_description() -> None:
    policy = access.RoutePolicy("GET", "/api/calls", EVERYONE, "the call log", rows="calls")
    operation = build([policy], title="t", version="1")["paths"]["/api/calls"]["get"]
    assert operation["x-rows"] == rows.rule("calls").to_json()
    described = rows.rule("calls").to_json()
    assert described["scopes"] == {
        "agent": "own",
        "qa": "assigned",
        "supervisor": "all",
        "admin": "all",
    }
    assert described["masked_for"] == ["qa"]
    assert described["refused"] == {"status": 404, "error_id": "call-not-found", "audited": False}


@pytest.fixture
async def client() -> AsyncIterator[tuple[TestClient[Any, Any], list[tuple[str, str]]]]:
    """An app with one audited route: who is asking comes from the X-Who header."""
    told: list[tuple[str, str]] = []
    people = {"agent": AGENT, "qa": QA, "sup": SUPERVISOR}

    async def who(request: web.Request) -> Principal | None:
        return people.get(request.headers.get("X-Who", ""))

    async def hook(request: web.Request, by: Principal | None, refusal: DomainError) -> None:
        told.append((by.username if by else "anonymous", refusal.error_id))
        if request.query.get("hook") == "fails":
            raise RuntimeError("the audit log is down")

    async def recording(request: web.Request) -> web.Response:
        if access.principal(request).role is Role.QA:
            raise ApiError(403, "not-assigned", "not yours")
        if request.match_info["id"] == "0":
            raise ApiError(404, "recording-not-found", "none")
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[*middlewares(), access.access_middleware])
    access.table(app).authenticators.append(who)
    access.route(
        app,
        "GET",
        "/api/recordings/{id}",
        recording,
        roles=STAFF,
        summary="a recording",
        rows="recordings",
        on_refused=hook,
    )
    async with TestClient(TestServer(app)) as http:
        yield http, told


async def test_every_refusal_on_an_audited_route_reaches_its_hook(
    client: tuple[TestClient[Any, Any], list[tuple[str, str]]],
) -> None:
    http, told = client
    assert (await http.get("/api/recordings/1")).status == 401
    assert (await http.get("/api/recordings/1", headers={"X-Who": "agent"})).status == 403
    assert (await http.get("/api/recordings/1", headers={"X-Who": "qa"})).status == 403
    assert (await http.get("/api/recordings/1", headers={"X-Who": "sup"})).status == 200
    assert (await http.get("/api/recordings/0", headers={"X-Who": "sup"})).status == 404
    assert told == [
        ("anonymous", "not-authenticated"),
        ("a", "forbidden"),
        ("q", "not-assigned"),
    ]  # a success and a plain 404 are no refusals


async def test_a_failing_hook_leaves_the_refusal_as_it_was(
    client: tuple[TestClient[Any, Any], list[tuple[str, str]]],
) -> None:
    http, told = client
    refused = await http.get("/api/recordings/1?hook=fails", headers={"X-Who": "agent"})
    assert refused.status == 403 and (await refused.json())["error_id"] == "forbidden"
    assert told == [("a", "forbidden")]
