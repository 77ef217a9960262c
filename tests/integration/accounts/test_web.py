"""Logins, sessions, CSRF, throttling, user management and row-level rules, over real HTTP
against the whole app (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from callcenter.accounts.keys import ACCOUNTS
from callcenter.agents.domain import AgentState, Transition
from callcenter.agents.keys import AGENT_REPOSITORY
from callcenter.agents.store import WrapUp
from callcenter.callbacks.keys import CALLBACKS, SCHEDULE
from callcenter.calls.keys import WRITER
from callcenter.calls.record import CallRecord, Direction, Outcome
from callcenter.kernel.roles import Role
from tests.support.accounts import (
    PASSWORD,
    anonymous_client,
    logged_in,
    make_user,
)
from tests.support.routed import RoutedApp

pytestmark = pytest.mark.asterisk


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    body: dict[str, Any] = await response.json()
    return body


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _fake_clock(app: RoutedApp) -> FakeClock:
    clock = FakeClock()
    app.app[ACCOUNTS].clock = clock
    return clock


async def test_login_sets_a_hardened_cookie_and_stores_only_its_hash(
    routed: Callable[..., Any],
) -> None:
    app: RoutedApp = await routed()
    await make_user(app, "sup1", role=Role.SUPERVISOR)
    async with anonymous_client(app) as http:
        response = await http.post("/login", json={"username": "SUP1", "password": PASSWORD})
        body = await _json(response)
        assert response.status == 200, body
        assert body["user"] == {
            "username": "sup1",
            "role": "supervisor",
            "staff_no": None,
            "display_name": "sup1",
        }
        header = next(v for v in response.headers.getall("Set-Cookie") if "cc_session=" in v)
        assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header
        assert "Secure" not in header  # loopback web host: plain HTTP allowed (see README)
        token = re.search(r"cc_session=([^;]+)", header).group(1)  # type: ignore[union-attr]
        me = await _json(await http.get("/api/me"))
        assert me["user"]["role"] == "supervisor"
        assert me["csrf_token"] == body["csrf_token"]
    repository = app.app[ACCOUNTS].repository
    found = await repository.find_session(hashlib.sha256(token.encode()).hexdigest())
    assert found is not None and found[1].username == "sup1"
    assert await repository.find_session(token) is None  # the token itself is not a key


async def test_csrf_is_required_for_cookie_sessions_only(routed: Callable[..., Any]) -> None:
    app: RoutedApp = await routed()
    await make_user(app, "admin1", role=Role.ADMIN)
    new_user = {"username": "qa9", "role": "qa", "password": PASSWORD}
    async with logged_in(app, "admin1") as admin:
        refused = await admin.post("/api/users", json=new_user, headers={"X-CSRF-Token": ""})
        assert refused.status == 403
        body = await _json(refused)
        assert body["error_id"] == "csrf-failed" and "X-CSRF-Token" in body["message"]
        wrong = await admin.post("/api/users", json=new_user, headers={"X-CSRF-Token": "guess"})
        assert (await _json(wrong))["error_id"] == "csrf-failed"
        assert await app.app[ACCOUNTS].repository.get_user("qa9") is None  # nothing happened
        created = await admin.post("/api/users", json=new_user)  # the header from /login
        assert created.status == 201, await created.text()
        # An HTML form carries it as a field instead: logging out through a form.
        form = await admin.http.post("/logout", data={"csrf_token": "guess"})
        assert form.status == 403
        form = await admin.http.post(
            "/logout", data={"csrf_token": admin.csrf_token}, allow_redirects=False
        )
        assert form.status == 303 and form.headers["Location"] == "/login?logged_out=1"
        assert (await admin.get("/api/me")).status == 401
    # The service token (no cookie, no browser) needs no CSRF token.
    made = await app.client.post("/api/users", json={**new_user, "username": "qa10"})
    assert made.status == 201


async def test_login_rotates_the_session_and_logout_deletes_it(
    routed: Callable[..., Any],
) -> None:
    app: RoutedApp = await routed()
    await make_user(app, "qa1", role=Role.QA)
    credentials = {"username": "qa1", "password": PASSWORD}
    async with anonymous_client(app) as http:
        await http.post("/login", json=credentials)
        first = {c.key: c.value for c in http.cookie_jar}["cc_session"]
        await http.post("/login", json=credentials)
        second = {c.key: c.value for c in http.cookie_jar}["cc_session"]
        assert first != second
        old = await http.get("/api/me", cookies={"cc_session": first})
        assert old.status == 401  # the replaced session is gone, not just forgotten
        me = await _json(await http.get("/api/me"))
        logout = await http.post("/logout", headers={"X-CSRF-Token": me["csrf_token"]})
        assert logout.status == 200 and (await _json(logout)) == {"logged_out": True}
        assert (await http.get("/api/me", cookies={"cc_session": second})).status == 401
    user = await app.app[ACCOUNTS].repository.get_user("qa1")
    assert user is not None
    assert await app.app[ACCOUNTS].repository.user_sessions(user.id) == []


async def test_sessions_expire_when_idle_and_at_their_absolute_limit(
    routed: Callable[..., Any],
) -> None:
    app: RoutedApp = await routed()
    config = app.config.auth
    clock = _fake_clock(app)
    await make_user(app, "sup1", role=Role.SUPERVISOR)
    async with logged_in(app, "sup1") as sup:
        clock.now += config.session_idle - 60
        assert (await sup.get("/api/me")).status == 200  # seen: the idle clock restarts
        clock.now += config.session_idle - 60
        assert (await sup.get("/api/me")).status == 200
        clock.now += config.session_idle + 1
        expired = await sup.get("/api/me")
        assert expired.status == 401 and (await _json(expired))["error_id"] == "not-authenticated"
    async with logged_in(app, "sup1") as sup:
        start = clock.now
        while clock.now + config.session_idle / 2 < start + config.session_max:
            clock.now += config.session_idle / 2
            assert (await sup.get("/api/me")).status == 200
        clock.now = start + config.session_max + 0.001  # stored to the microsecond
        assert (await sup.get("/api/me")).status == 401  # active all along, still over
    user = await app.app[ACCOUNTS].repository.get_user("sup1")
    assert user is not None
    assert await app.app[ACCOUNTS].repository.user_sessions(user.id) == []


async def test_login_throttling_then_allowed_after_the_lockout(
    routed: Callable[..., Any],
) -> None:
    app: RoutedApp = await routed()
    clock = _fake_clock(app)
    await make_user(app, "agent1", role=Role.AGENT, staff_no="1001")
    async with anonymous_client(app) as http:
        unknown = await http.post("/login", json={"username": "ghost", "password": "whatever!!"})
        wrong = await http.post("/login", json={"username": "agent1", "password": "wrong-one!"})
        # The same answer for a wrong password and a user who does not exist.
        assert unknown.status == wrong.status == 401
        unknown_body, wrong_body = await _json(unknown), await _json(wrong)
        assert unknown_body == wrong_body
        assert wrong_body["message"] == "wrong username or password"
        for _ in range(app.config.auth.login_max_failures - 1):
            failed = await http.post("/login", json={"username": "agent1", "password": "x"})
            assert failed.status == 401
        right = {"username": "agent1", "password": PASSWORD}
        throttled = await http.post("/login", json=right)
        body = await _json(throttled)
        assert throttled.status == 429, body
        assert body["error_id"] == "login-throttled"
        retry = body["details"]["retry_after"]
        assert retry == app.config.auth.login_lockout
        assert throttled.headers["Retry-After"] == str(retry)
        clock.now += retry - 1
        assert (await http.post("/login", json=right)).status == 429
        clock.now += 1.001  # past the lockout (float sums may fall a hair short)
        allowed = await http.post("/login", json=right)
        assert allowed.status == 200, await allowed.text()


async def test_disabling_ends_sessions_and_password_change_ends_other_sessions(
    routed: Callable[..., Any],
) -> None:
    app: RoutedApp = await routed()
    await make_user(app, "qa1", role=Role.QA)
    async with logged_in(app, "qa1") as first, logged_in(app, "qa1") as second:
        changed = await first.post(
            "/api/me/password",
            json={"current_password": PASSWORD, "new_password": "another-good-password"},
        )
        assert changed.status == 200, await changed.text()
        assert (await first.get("/api/me")).status == 200  # the session that changed it
        assert (await second.get("/api/me")).status == 401  # any other one ends
        bad = await first.post(
            "/api/me/password", json={"current_password": "nope", "new_password": "x"}
        )
        assert (await _json(bad))["error_id"] == "wrong-password"
        disabled = await app.client.post("/api/users/qa1/disable")
        assert (await _json(disabled))["disabled"] is True
        assert (await first.get("/api/me")).status == 401
    async with anonymous_client(app) as http:
        login = await http.post(
            "/login", json={"username": "qa1", "password": "another-good-password"}
        )
        assert login.status == 401
        assert (await _json(login))["error_id"] == "account-disabled"


async def test_user_management_api_errors_are_clear(routed: Callable[..., Any]) -> None:
    app: RoutedApp = await routed()
    api = app.api  # the service token: admin
    created = await api(
        "POST",
        "/api/users",
        201,
        username="Agent.Wang",
        role="agent",
        staff_no="1002",
        password=PASSWORD,
        display_name="王小明",
    )
    assert created["username"] == "agent.wang" and "password_hash" not in created
    for body, status, error_id in [
        ({"username": "agent.wang", "role": "qa", "password": PASSWORD}, 409, "username-taken"),
        (
            {"username": "a2", "role": "agent", "staff_no": "1002", "password": PASSWORD},
            409,
            "staff-no-taken",
        ),
        ({"username": "a3", "role": "agent", "password": PASSWORD}, 400, "staff-no-required"),
        ({"username": "a4", "role": "boss", "password": PASSWORD}, 400, "unknown-role"),
        ({"username": "a 5", "role": "qa", "password": PASSWORD}, 400, "bad-username"),
        ({"username": "a6", "role": "qa", "password": "short"}, 400, "password-too-short"),
        (
            {"username": "a7longname", "role": "qa", "password": "a7longname"},
            400,
            "password-is-username",
        ),
    ]:
        refused = await api("POST", "/api/users", status, **body)
        assert refused["error_id"] == error_id, (body, refused)
        assert refused["message"]
    changed = await api("PATCH", "/api/users/agent.wang", 200, role="supervisor")
    assert changed["role"] == "supervisor" and changed["staff_no"] == "1002"
    assert (await api("PATCH", "/api/users/ghost", 404, role="qa"))["error_id"] == "user-not-found"
    bad = await api("PATCH", "/api/users/agent.wang", 400, password="x")
    assert bad["error_id"] == "bad-field"
    await api("POST", "/api/users/agent.wang/password", 200, password="a-new-good-password")
    listing = await api("GET", "/api/users")
    assert [u["username"] for u in listing["users"]] == ["agent.wang"]
    # The only enabled admin cannot be disabled or demoted: nobody could manage accounts.
    await make_user(app, "root", role=Role.ADMIN)
    refused = await api("POST", "/api/users/root/disable", 409)
    assert refused["error_id"] == "last-admin"
    assert (await api("PATCH", "/api/users/root", 409, role="qa"))["error_id"] == "last-admin"
    await api("PATCH", "/api/users/agent.wang", 200, role="admin")
    assert (await api("POST", "/api/users/root/disable"))["disabled"] is True


async def _call(app: RoutedApp, linkedid: str, agent: str) -> None:
    now = time.time()
    record = CallRecord(
        linkedid=linkedid,
        direction=Direction.INBOUND,
        caller_number="13800138000",
        caller_name=None,
        dialled_number="600",
        queue="support",
        arrived_at=now,
        answered_at=now + 3,
        ended_at=now + 60,
        answer_seconds=3.0,
        rings_to_answer=1,
        answered_by=None,
        agent=agent,
        agent_name=None,
        hold_seconds=0.0,
        talk_seconds=57.0,
        hangup_first=None,
        outcome=Outcome.ANSWERED,
        hangup_cause=16,
        notes=(),
        recordings=(),
    )
    app.app[WRITER].submit(record)
    await app.app[WRITER].flush()


async def test_agents_see_only_their_own_calls_cases_and_callbacks(
    routed: Callable[..., Any],
) -> None:
    app: RoutedApp = await routed()
    repository = app.app[AGENT_REPOSITORY]
    now = time.time()
    # Agent 7001 took call A (connected, per the router's state log); 7002 took call B
    # and filed a complaint wrap-up for it.
    await _call(app, "1700000000.1", "7001")
    await _call(app, "1700000000.2", "7002")
    await repository.record(
        [Transition("7001", now, AgentState.RINGING, AgentState.ON_CALL, call="1700000000.1")],
        {},
    )
    own_case = await repository.save_wrap_up(
        WrapUp("1700000000.1", "7001", "投訴", "", False, None, now), ("complaint", now + 3600)
    )
    other_case = await repository.save_wrap_up(
        WrapUp("1700000000.2", "7002", "投訴", "", False, None, now), ("complaint", now + 3600)
    )
    assert own_case is not None and other_case is not None
    schedule = app.app[SCHEDULE]
    callbacks = app.app[CALLBACKS]
    await callbacks.request("13800138001", "complaint-reply", now, schedule, case_id=own_case.id)
    await callbacks.request("13800138002", "complaint-reply", now, schedule, case_id=other_case.id)
    await make_user(app, "wang", role=Role.AGENT, staff_no="7001")
    await make_user(app, "sup1", role=Role.SUPERVISOR)
    async with logged_in(app, "wang") as agent, logged_in(app, "sup1") as sup:
        mine = await _json(await agent.get("/api/calls"))
        assert [c["linkedid"] for c in mine["calls"]] == ["1700000000.1"]
        assert (await agent.get("/api/calls/1700000000.1")).status == 200
        other = await agent.get("/api/calls/1700000000.2")
        assert other.status == 404 and (await _json(other))["error_id"] == "call-not-found"
        everyone = await _json(await sup.get("/api/calls"))
        assert {c["linkedid"] for c in everyone["calls"]} >= {"1700000000.1", "1700000000.2"}
        assert (await sup.get("/api/calls/1700000000.2")).status == 200

        cases = await _json(await agent.get("/api/cases"))
        assert [c["owner"] for c in cases["cases"]] == ["7001"]
        assert len((await _json(await sup.get("/api/cases")))["cases"]) == 2
        queued = await _json(await agent.get("/api/callbacks"))
        assert [c["case_id"] for c in queued["callbacks"]] == [own_case.id]
        every = (await _json(await sup.get("/api/callbacks")))["callbacks"]
        assert {own_case.id, other_case.id} <= {c["case_id"] for c in every}

        for path in ("/api/agents/7002/pause", "/api/agents/7002/wrapup"):
            refused = await agent.post(path, json={"reason": "break"})
            assert refused.status == 403
            assert (await _json(refused))["error_id"] == "not-own-agent"
        assert (await agent.get("/api/agents/7002/states")).status == 403
        assert (await agent.get("/api/agents/7001/states")).status == 200
        # Its own agent is not on the router's board in this test: past the rule, a 404.
        own = await agent.post("/api/agents/7001/pause", json={"reason": "break"})
        assert (await _json(own))["error_id"] == "unknown-agent"


async def test_login_page_languages_errors_and_redirects(routed: Callable[..., Any]) -> None:
    app: RoutedApp = await routed()
    await make_user(app, "agent1", role=Role.AGENT, staff_no="1001")
    async with anonymous_client(app) as http:
        english = await http.get("/login?lang=en")
        page = await english.text()
        assert english.status == 200 and "Log in" in page and 'lang="en"' in page
        assert english.headers["X-Frame-Options"] == "DENY"
        chinese = await http.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        page = await chinese.text()
        assert "用户名" in page and 'lang="zh-CN"' in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

        # A cross-site form post carries no SameSite=Strict cookie: refused, in the page.
        async with anonymous_client(app) as elsewhere:
            forged = await elsewhere.post(
                "/login?lang=en",
                data={"username": "agent1", "password": PASSWORD, "csrf_token": token},
            )
            assert forged.status == 403 and "login form has expired" in await forged.text()

        wrong = await http.post(
            "/login?lang=en",
            data={"username": "agent1", "password": "not-it!!!!", "csrf_token": token},
        )
        text = await wrong.text()
        assert wrong.status == 401 and "Wrong username or password." in text
        assert 'value="agent1"' in text  # the username stays filled in

        ok = await http.post(
            "/login",
            data={
                "username": "agent1",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/steal",
            },
            allow_redirects=False,
        )
        assert ok.status == 303 and ok.headers["Location"] == "/"  # no open redirect
        home = await http.get("/", allow_redirects=False)
        assert home.status == 302 and home.headers["Location"] == "/panel"
        # Logged in already: the login page sends the user on.
        again = await http.get("/login?next=/api/me", allow_redirects=False)
        assert again.status == 303 and again.headers["Location"] == "/api/me"

    async with anonymous_client(app) as http:
        page_route = await http.get("/", allow_redirects=False)
        assert page_route.status == 302 and page_route.headers["Location"] == "/login?next=/"
        api_route = await http.get("/api/me")
        assert api_route.status == 401
