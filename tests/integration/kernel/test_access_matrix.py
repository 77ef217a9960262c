"""Each role against every registered route, from the route-policy table itself.

New routes are covered the moment they are registered: the test walks the
table. Refusals must be exactly the policy's (401 anonymous, 403 wrong role,
401 for a bad token, anonymous pages redirected to the login page); allowed
calls must get past the policy (any status but a policy refusal: the handler
may still say 400/404/409 to the dummy parameters). Every route must have a
policy and appear in the OpenAPI description.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from callcenter.kernel.roles import Role
from callcenter.kernel.web import access
from callcenter.kernel.web.access import RoutePolicy
from callcenter.kernel.web.openapi import PATH_PARAMETER, parse_path
from tests.support.accounts import PASSWORD, SessionClient, anonymous_client, make_user
from tests.support.asterisk_fixtures import AUTH_HEADERS
from tests.support.routed import RoutedApp

pytestmark = pytest.mark.asterisk

AGENT_STAFF_NO = "9901"  # the agent account's own agent (not on the board: 404 past the policy)
# Error ids only the access layer gives: an allowed call must never see them.
POLICY_REFUSALS = {"not-authenticated", "forbidden", "no-policy", "csrf-failed", "bad-token"}
SAMPLE_VALUES = {
    "staff_no": AGENT_STAFF_NO,
    "username": "nobody-here",
    "filename": "no-such-file.css",
    "linkedid": "1000000000.999",
}
CANDIDATES = ("999999", AGENT_STAFF_NO, "nothing", "2026-01", "2026-W01", "a")
REQUEST_TIMEOUT = 10.0


def sample_path(path: str) -> str:
    """A concrete URL for a route pattern: harmless values that match each parameter."""

    def value(match: re.Match[str]) -> str:
        name, pattern = match.group("name"), match.group("regex")
        if pattern is None:
            return SAMPLE_VALUES.get(name, "999999")
        alternatives = [a for a in pattern.split("|") if re.fullmatch(r"[\w.-]+", a)]
        for candidate in [SAMPLE_VALUES.get(name, ""), *CANDIDATES, *alternatives]:
            if candidate and re.fullmatch(pattern, candidate):
                return candidate
        raise AssertionError(f"no sample value for {{{name}:{pattern}}} in {path}")

    return PATH_PARAMETER.sub(value, path)


def _order(policy: RoutePolicy) -> tuple[int, str, str]:
    # Logging out last: it ends the session the other requests use.
    return (1 if policy.path == "/logout" else 0, policy.path, policy.method)


@contextlib.asynccontextmanager
async def _session(app: RoutedApp, username: str) -> AsyncIterator[SessionClient]:
    async with anonymous_client(app) as http:
        response = await http.post("/login", json={"username": username, "password": PASSWORD})
        body = await response.json()
        assert response.status == 200, body
        yield SessionClient(http, body["csrf_token"], body["user"])


async def _call(
    client: SessionClient, policy: RoutePolicy, headers: dict[str, str]
) -> tuple[int, str | None, str]:
    """(status, error_id, Location) of one request; a stream that never ends counts as 200."""
    path = sample_path(policy.path)
    kwargs: dict[str, Any] = {"headers": headers}
    if policy.method not in {"GET", "HEAD", "OPTIONS", "DELETE"}:
        kwargs["json"] = {}
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            response = await client.request(policy.method, path, **kwargs)
            error_id = None
            if response.content_type == "application/json" and policy.method != "HEAD":
                with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
                    body = await response.json()
                    if isinstance(body, dict):
                        error_id = body.get("error_id")
            response.release()
            return response.status, error_id, response.headers.get("Location", "")
    except TimeoutError:
        return 200, None, ""  # a stream (SSE, long poll) that got past the policy


def _expected_refusal(policy: RoutePolicy, role: Role | None) -> tuple[int, str] | None:
    """What the policy says this caller gets, or None when it may call."""
    if policy.roles is None:
        return None
    if role is None:
        return (302, "login") if policy.page else (401, "not-authenticated")
    if role is Role.ADMIN or role in policy.roles:
        return None
    return (403, "page") if policy.page else (403, "forbidden")


async def test_every_role_against_every_route(routed: Callable[..., Any]) -> None:
    app: RoutedApp = await routed()
    policies = sorted(access.table(app.app).all(), key=_order)
    assert len(policies) > 20, "the route table looks empty"
    await make_user(app, "m-agent", role=Role.AGENT, staff_no=AGENT_STAFF_NO)
    await make_user(app, "m-qa", role=Role.QA)
    await make_user(app, "m-sup", role=Role.SUPERVISOR)
    await make_user(app, "m-admin", role=Role.ADMIN)
    failures: list[str] = []
    checked = 0

    async with contextlib.AsyncExitStack() as stack:
        anonymous = SessionClient(await stack.enter_async_context(anonymous_client(app)), None, {})
        callers: list[tuple[str, Role | None, SessionClient, dict[str, str]]] = [
            ("anonymous", None, anonymous, {}),
            ("bad-token", None, anonymous, {"Authorization": "Bearer not-the-token"}),
            ("service-token", Role.ADMIN, anonymous, dict(AUTH_HEADERS)),
        ]
        for username, role in [
            ("m-agent", Role.AGENT),
            ("m-qa", Role.QA),
            ("m-sup", Role.SUPERVISOR),
            ("m-admin", Role.ADMIN),
        ]:
            client = await stack.enter_async_context(_session(app, username))
            callers.append((role.value, role, client, {}))

        for name, role, client, headers in callers:
            for policy in policies:
                status, error_id, location = await _call(client, policy, headers)
                checked += 1
                where = f"{name} {policy.method} {policy.path} -> {status} {error_id}"
                head = policy.method == "HEAD"  # no body to say why: the status must do
                if name == "bad-token":
                    if status != 401 or not (head or error_id == "bad-token"):
                        failures.append(f"{where}: a bad token must be refused (401 bad-token)")
                    continue
                expected = _expected_refusal(policy, role)
                if expected is None:
                    refused = status in (401, 403) and (
                        error_id in POLICY_REFUSALS or error_id is None
                    )
                    if refused or (policy.page and status == 302 and "/login" in location):
                        failures.append(f"{where}: should be allowed")
                elif expected == (302, "login"):
                    if status != 302 or not location.startswith("/login?next="):
                        failures.append(f"{where}: should redirect to the login page")
                elif expected == (403, "page"):
                    if status != 403:
                        failures.append(f"{where}: should be a 403 page")
                elif status != expected[0] or not (head or error_id == expected[1]):
                    failures.append(f"{where}: expected {expected}")
    assert not failures, "\n".join(failures)
    assert checked == len(policies) * 7


async def test_every_route_has_a_policy_and_is_in_the_openapi_description(
    routed: Callable[..., Any],
) -> None:
    app: RoutedApp = await routed()
    table = access.table(app.app)
    unguarded = [
        f"{r.method} {r.resource.canonical if r.resource else '?'}"
        for r in app.app.router.routes()
        if r not in table.policies
    ]
    assert not unguarded, f"routes without an access policy: {unguarded}"

    document = await app.api("GET", "/api/openapi.json")
    assert document["openapi"] == "3.1.0"
    described = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    missing = [
        f"{p.method} {p.path}"
        for p in table.all()
        if (p.method, parse_path(p.path)[0]) not in described
    ]
    assert not missing, f"routes missing from /api/openapi.json: {missing}"
    for policy in table.all():
        operation = document["paths"][parse_path(policy.path)[0]][policy.method.lower()]
        roles = (
            ["public"]
            if policy.roles is None
            else sorted(r.value for r in policy.roles | {Role.ADMIN})
        )
        assert operation["x-roles"] == roles, policy
    async with anonymous_client(app) as http:
        assert (await http.get("/api/openapi.json")).status == 401  # logged-in users only
