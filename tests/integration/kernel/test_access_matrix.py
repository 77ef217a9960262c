"""Each role against every registered route, from the route-policy table itself, and
against the rows behind every row-scoped route (the row table, kernel/web/rows.py).

New routes are covered the moment they are registered: the test walks the
table. Refusals must be exactly the policy's (401 anonymous, 403 wrong role,
401 for a bad token, anonymous pages redirected to the login page); allowed
calls must get past the policy (any status but a policy refusal: the handler
may still say 400/404/409 to the dummy parameters). Every route must have a
policy and appear in the OpenAPI description.

Row level, role by role (admin, supervisor, agent with its own and another
agent's rows, qa with an assigned and a not-assigned call, anonymous): a
reader who may see a row gets it; one who may not gets 403/404 (or a list
without it) and the body holds no part of the row. Every row-scoped route in
the table must be probed, and every refused attempt at a recording (or what
is made of one) must be in the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from callcenter.agents.keys import AGENT_REPOSITORY
from callcenter.asr.masking import mask_number
from callcenter.callbacks.keys import CALLBACKS, SCHEDULE
from callcenter.calls.keys import REPOSITORY
from callcenter.compliance.domain import Compliance
from callcenter.compliance.store import ComplianceRepository
from callcenter.kernel.roles import Role
from callcenter.kernel.web import access
from callcenter.kernel.web.access import RoutePolicy
from callcenter.kernel.web.keys import SESSIONS
from callcenter.kernel.web.openapi import PATH_PARAMETER, parse_path
from callcenter.panel.keys import PANEL_REPOSITORY
from callcenter.qa.keys import QA
from callcenter.recordings.tables import recordings_table
from tests.support.accounts import PASSWORD, SessionClient, anonymous_client, make_user
from tests.support.asterisk_fixtures import AUTH_HEADERS
from tests.support.qa_calls import assign_sample
from tests.support.records import make_record
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


# -- row level ----------------------------------------------------------------------------------

OWN, OTHER = "9911", "9912"  # the agent account's own agent, and another agent
OWN_NUMBER, OTHER_NUMBER, UNKNOWN_NUMBER = "13800138001", "13900139002", "13700137003"
SCORES = {"wording": 5, "attitude": 4, "tone": 4, "needs": 3, "adaptability": 4}
NOT_REFUSED = 0  # a probe's status: past every policy and row rule (the handler may say 409)
ROW_READERS = ("admin", "supervisor", "agent", "qa", "anonymous")


@dataclasses.dataclass(frozen=True)
class Rows:
    """One row of each kind on the agent's (and the inspector's) side, one on another's."""

    own_call: str
    other_call: str
    own_sample: int
    other_sample: int
    own_recording: int
    other_recording: int
    own_audio: bytes
    own_evaluation: int
    other_evaluation: int

    @property
    def other_secrets(self) -> tuple[str, ...]:
        """Parts of the other side's rows; a refused or filtered answer holds none."""
        return (
            OTHER_NUMBER,
            mask_number(OTHER_NUMBER) or "",
            "Other Caller",
            "Other Contact",
            "other contact notes",
            "other case summary",
            "other evaluation comment",
            "0.4321",  # the other call's dead air
        )


@dataclasses.dataclass(frozen=True)
class Probe:
    route: str  # "METHOD /pattern", as in the route table
    path: str
    who: str
    status: int  # NOT_REFUSED: anything but 401/403 and the row's refusal
    error_id: str | None = None
    shows: tuple[str, ...] = ()
    hides: tuple[str, ...] = ()
    body: dict[str, Any] | None = None


async def _sample(app: RoutedApp, linkedid: str, inspector: str, user_id: int | None) -> int:
    async with app.app[SESSIONS]() as session, session.begin():
        return await assign_sample(session, linkedid, OWN, inspector, user_id=user_id)


async def _recording(app: RoutedApp, linkedid: str, relative: str, data: bytes) -> int:
    path = app.config.recordings_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    now = datetime.now(UTC)
    async with app.app[SESSIONS]() as session, session.begin():
        recording_id: int = (
            await session.execute(
                sa.insert(recordings_table)
                .values(
                    linkedid=linkedid,
                    uniqueid=linkedid,
                    leg="mixed",
                    source="agent",
                    path=relative,
                    duration_seconds=1.0,
                    size_bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    sample_rate=8000,
                    created_at=now,
                    catalogued_at=now,
                )
                .returning(recordings_table.c.id)
            )
        ).scalar_one()
    return recording_id


async def _make_rows(app: RoutedApp, qa_user_id: int | None, folder: str) -> Rows:
    """Both sides: calls, wrap-ups, compliance, QA samples, recordings, contacts, cases,
    callbacks. Only the database and the admin API: no call is placed."""
    tag = secrets.token_hex(4)
    own_call, other_call = f"own-{tag}", f"other-{tag}"
    now = time.time()
    await app.app[REPOSITORY].upsert_calls(
        [
            make_record(
                own_call,
                arrived_at=now - 600,
                caller_number=OWN_NUMBER,
                caller_name="Own Caller",
                agent=OWN,
                recordings=0,
            ),
            make_record(
                other_call,
                arrived_at=now - 300,
                caller_number=OTHER_NUMBER,
                caller_name="Other Caller",
                agent=OTHER,
                recordings=0,
            ),
        ]
    )
    for staff_no, linkedid in ((OWN, own_call), (OTHER, other_call)):  # who handled which
        await app.api(
            "POST", f"/api/agents/{staff_no}/wrapup", 201, linkedid=linkedid, category="咨詢"
        )
    compliance = ComplianceRepository(app.app[SESSIONS])
    await compliance.save(Compliance(own_call, OWN, now - 590, 1.5, False, True, ()), now)
    await compliance.save(
        Compliance(other_call, OTHER, now - 290, 0.4321, True, True, ("dead-air",)), now
    )
    own_sample = await _sample(app, own_call, "m-qa", qa_user_id)
    other_sample = await _sample(app, other_call, "qa-other", None)
    evaluations = app.app[QA].evaluations
    own_evaluation, _ = await evaluations.evaluate(
        own_sample, "m-qa", {"scores": SCORES, "comment": "own evaluation comment"}, by="m-qa"
    )
    other_evaluation, _ = await evaluations.evaluate(
        other_sample,
        "qa-other",
        {"scores": SCORES, "comment": "other evaluation comment"},
        by="qa-other",
    )
    own_audio = b"RIFF-own-audio-" + tag.encode()
    own_recording = await _recording(app, own_call, f"{folder}/{own_call}.wav", own_audio)
    other_recording = await _recording(
        app, other_call, f"{folder}/{other_call}.wav", b"RIFF-other-audio"
    )
    panel = app.app[PANEL_REPOSITORY]
    for number, name, notes in (
        (OWN_NUMBER, "Own Contact", "own contact notes"),
        (OTHER_NUMBER, "Other Contact", "other contact notes"),
    ):
        await panel.save_contact(number, name=name, notes=notes, member=False, by="test", at=now)
    cases = app.app[AGENT_REPOSITORY]
    await cases.open_case("complaint", OWN_NUMBER, OWN, "own case summary", now, now + 3600)
    await cases.open_case("complaint", OTHER_NUMBER, OTHER, "other case summary", now, now + 3600)
    for number, linkedid in ((OWN_NUMBER, own_call), (OTHER_NUMBER, other_call)):
        await app.app[CALLBACKS].request(
            number, "press-1", now, app.app[SCHEDULE], linkedid=linkedid, due_at=now + 7 * 86400
        )
    assert own_evaluation.id is not None and other_evaluation.id is not None
    return Rows(
        own_call,
        other_call,
        own_sample,
        other_sample,
        own_recording,
        other_recording,
        own_audio,
        own_evaluation.id,
        other_evaluation.id,
    )


def _probes(r: Rows) -> list[Probe]:
    """The row table, probed: for each row-scoped route, who gets which row."""
    hidden = r.other_secrets
    masked_own = mask_number(OWN_NUMBER) or ""
    calls, call = "GET /api/calls", "GET /api/calls/{linkedid}"
    own_call, other_call = f"/api/calls/{r.own_call}", f"/api/calls/{r.other_call}"
    compliance = "GET /api/calls/{linkedid}/compliance"
    transcript = "GET /api/calls/{linkedid}/transcript"
    checks = "GET /api/calls/{linkedid}/checks"
    audio = "GET /api/recordings/{recording_id}/audio"
    own_audio, other_audio = (
        f"/api/recordings/{r.own_recording}/audio",
        f"/api/recordings/{r.other_recording}/audio",
    )
    samples, sample = "GET /api/qa/samples", "GET /api/qa/samples/{sample_id}"
    evaluate = "PUT /api/qa/samples/{sample_id}/evaluation"
    evaluation = "GET /api/qa/evaluations/{evaluation_id}"
    act = "POST /api/agents/{staff_no}/{action:login|logout|pause|unpause}"
    wrapup = "POST /api/agents/{staff_no}/wrapup"
    states, script = "GET /api/agents/{staff_no}/states", "GET /api/agents/{staff_no}/script"
    state, socket = "GET /api/panel/state", "GET /ws/panel"
    panel_callbacks, click = "GET /api/panel/callbacks", "POST /api/panel/call"
    pop, contact = "GET /api/panel/pop/{linkedid}", "GET /api/panel/contacts/{number}"
    put_contact, cases = "PUT /api/panel/contacts/{number}", "GET /api/cases"
    callbacks, create = "GET /api/callbacks", "POST /api/callbacks"
    both = (r.own_call, r.other_call, OWN_NUMBER, OTHER_NUMBER)
    return [
        # calls: agent own, qa assigned and masked, managers all
        Probe(calls, "/api/calls?limit=500", "admin", 200, shows=both),
        Probe(calls, "/api/calls?limit=500", "supervisor", 200, shows=both),
        Probe(calls, "/api/calls?limit=500", "agent", 200, shows=(r.own_call, OWN_NUMBER),
              hides=(r.other_call, *hidden)),
        Probe(calls, "/api/calls?limit=500", "qa", 200, shows=(r.own_call, masked_own),
              hides=(OWN_NUMBER, r.other_call, *hidden)),
        Probe(calls, "/api/calls", "anonymous", 401, "not-authenticated",
              hides=(r.own_call, OWN_NUMBER, *hidden)),
        Probe(call, own_call, "agent", 200, shows=(OWN_NUMBER, "Own Caller")),
        Probe(call, own_call, "qa", 200, shows=(masked_own,), hides=(OWN_NUMBER,)),
        Probe(call, other_call, "agent", 404, "call-not-found", hides=hidden),
        Probe(call, other_call, "qa", 404, "call-not-found", hides=hidden),
        Probe(call, other_call, "supervisor", 200, shows=(OTHER_NUMBER, "Other Caller")),
        Probe(call, other_call, "anonymous", 401, "not-authenticated", hides=hidden),
        # compliance: qa assigned, agents none
        Probe(compliance, f"{own_call}/compliance", "qa", 200, shows=("1.5",)),
        Probe(compliance, f"{other_call}/compliance", "qa", 404, "compliance-not-found",
              hides=hidden),
        Probe(compliance, f"{other_call}/compliance", "supervisor", 200, shows=("0.4321",)),
        Probe(compliance, f"{own_call}/compliance", "agent", 403, "forbidden", hides=hidden),
        # transcripts and checks: qa assigned (refusals audited)
        Probe(transcript, f"{own_call}/transcript", "qa", 200, shows=(r.own_call,)),
        Probe(transcript, f"{other_call}/transcript", "qa", 403, "not-assigned", hides=hidden),
        Probe(transcript, f"{own_call}/transcript", "agent", 403, "forbidden", hides=hidden),
        Probe(transcript, f"{other_call}/transcript", "admin", 200, shows=(r.other_call,)),
        Probe(checks, f"{own_call}/checks", "qa", 200, shows=(r.own_call,)),
        Probe(checks, f"{other_call}/checks", "qa", 403, "not-assigned", hides=hidden),
        # recordings: qa assigned (every refusal audited)
        Probe(audio, own_audio, "qa", 200, shows=(r.own_audio.decode(),)),
        Probe(audio, own_audio, "supervisor", 200, shows=(r.own_audio.decode(),)),
        Probe(audio, other_audio, "qa", 403, "not-assigned", hides=(r.other_call, *hidden)),
        Probe(audio, own_audio, "agent", 403, "forbidden", hides=(r.own_call,)),
        Probe(audio, own_audio, "anonymous", 401, "not-authenticated", hides=(r.own_call,)),
        # QA samples and evaluations
        Probe(samples, "/api/qa/samples", "qa", 200, shows=(r.own_call,),
              hides=(r.other_call,)),
        Probe(samples, "/api/qa/samples", "supervisor", 200, shows=(r.own_call, r.other_call)),
        Probe(samples, "/api/qa/samples", "agent", 403, "forbidden", hides=(r.own_call,)),
        Probe(sample, f"/api/qa/samples/{r.own_sample}", "qa", 200,
              shows=(r.own_call, masked_own), hides=(OWN_NUMBER,)),
        Probe(sample, f"/api/qa/samples/{r.other_sample}", "qa", 403, "not-assigned",
              hides=(r.other_call, *hidden)),
        Probe(evaluate, f"/api/qa/samples/{r.own_sample}/evaluation", "qa", 200,
              shows=(r.own_call,), body={"scores": SCORES, "comment": "own evaluation comment"}),
        Probe(evaluate, f"/api/qa/samples/{r.other_sample}/evaluation", "qa", 403,
              "not-assigned", hides=(r.other_call, *hidden), body={"scores": SCORES}),
        Probe(evaluation, f"/api/qa/evaluations/{r.own_evaluation}", "qa", 200,
              shows=("own evaluation comment",)),
        Probe(evaluation, f"/api/qa/evaluations/{r.other_evaluation}", "qa", 403,
              "not-assigned", hides=(r.other_call, *hidden)),
        Probe(evaluation, f"/api/qa/evaluations/{r.other_evaluation}", "supervisor", 200,
              shows=("other evaluation comment",)),
        # acting as an agent: itself, supervisors, admins; never qa
        Probe(act, f"/api/agents/{OWN}/logout", "agent", 200, shows=(OWN,)),
        Probe(act, f"/api/agents/{OTHER}/pause", "agent", 403, "not-own-agent",
              body={"reason": "break"}),
        Probe(act, f"/api/agents/{OWN}/pause", "qa", 403, "forbidden", body={"reason": "break"}),
        Probe(act, f"/api/agents/{OTHER}/logout", "qa", 403, "forbidden"),
        Probe(act, f"/api/agents/{OTHER}/unpause", "qa", 403, "forbidden"),
        Probe(act, f"/api/agents/{OTHER}/logout", "supervisor", 200, shows=(OTHER,)),
        Probe(wrapup, f"/api/agents/{OTHER}/wrapup", "agent", 403, "not-own-agent",
              body={"linkedid": r.other_call, "category": "咨詢"}),
        Probe(wrapup, f"/api/agents/{OWN}/wrapup", "agent", 404, "call-not-found",
              hides=hidden, body={"linkedid": r.other_call, "category": "咨詢"}),
        Probe(wrapup, f"/api/agents/{OWN}/wrapup", "qa", 403, "forbidden",
              body={"linkedid": r.own_call, "category": "投訴"}),
        Probe(wrapup, f"/api/agents/{OTHER}/wrapup", "supervisor", 409, "wrap-up-exists",
              body={"linkedid": r.other_call, "category": "咨詢"}),
        Probe(states, f"/api/agents/{OWN}/states", "agent", 200, shows=("transitions",)),
        Probe(states, f"/api/agents/{OTHER}/states", "agent", 403, "not-own-agent"),
        Probe(states, f"/api/agents/{OTHER}/states", "qa", 200, shows=("transitions",)),
        Probe(script, f"/api/agents/{OWN}/script", "agent", 200, shows=(OWN,)),
        Probe(script, f"/api/agents/{OTHER}/script", "agent", 403, "not-own-agent"),
        # the panel: an agent's own, managers any agent's
        Probe(state, "/api/panel/state", "agent", 200, shows=(OWN,)),
        Probe(state, f"/api/panel/state?agent={OTHER}", "agent", 403, "not-own-agent"),
        Probe(state, f"/api/panel/state?agent={OTHER}", "supervisor", 200, shows=(OTHER,)),
        Probe(state, f"/api/panel/state?agent={OWN}", "qa", 403, "forbidden"),
        Probe(socket, f"/ws/panel?agent={OTHER}", "agent", 403, "not-own-agent"),
        Probe(socket, "/ws/panel", "agent", NOT_REFUSED),
        Probe(panel_callbacks, "/api/panel/callbacks", "agent", 200, shows=(OWN_NUMBER,),
              hides=hidden),
        Probe(panel_callbacks, f"/api/panel/callbacks?agent={OTHER}", "agent", 403,
              "not-own-agent", hides=hidden),
        Probe(panel_callbacks, f"/api/panel/callbacks?agent={OTHER}", "supervisor", 200,
              shows=(OTHER_NUMBER,)),
        Probe(click, "/api/panel/call", "agent", 403, "not-own-agent",
              body={"agent": OTHER, "number": "2001"}),
        Probe(click, "/api/panel/call", "agent", NOT_REFUSED, body={"number": "2001"}),
        Probe(click, "/api/panel/call", "qa", 403, "forbidden", body={"number": "2001"}),
        # screen pops: an agent's own calls
        Probe(pop, f"/api/panel/pop/{r.own_call}", "agent", 200, shows=(OWN_NUMBER,)),
        Probe(pop, f"/api/panel/pop/{r.other_call}", "agent", 404, "pop-not-found",
              hides=hidden),
        Probe(pop, f"/api/panel/pop/{r.other_call}?agent={OTHER}", "supervisor", 200,
              shows=(OTHER_NUMBER,)),
        # contacts: an agent the numbers of its calls; refused = unknown
        Probe(contact, f"/api/panel/contacts/{OWN_NUMBER}", "agent", 200,
              shows=("Own Contact", "own contact notes")),
        Probe(contact, f"/api/panel/contacts/{OTHER_NUMBER}", "agent", 404,
              "contact-not-found", hides=("Other Contact", "other contact notes")),
        Probe(contact, f"/api/panel/contacts/{UNKNOWN_NUMBER}", "agent", 404,
              "contact-not-found"),
        Probe(contact, f"/api/panel/contacts/{OTHER_NUMBER}?agent={OWN}", "supervisor", 200,
              shows=("Other Contact",)),
        Probe(contact, f"/api/panel/contacts/{OTHER_NUMBER}", "qa", 403, "forbidden",
              hides=("Other Contact",)),
        Probe(put_contact, f"/api/panel/contacts/{OTHER_NUMBER}", "agent", 404,
              "contact-not-found", hides=("Other Contact", "other contact notes"),
              body={"name": "Mallory"}),
        Probe(put_contact, f"/api/panel/contacts/{OWN_NUMBER}", "agent", 200,
              shows=("Own Contact",), body={"notes": "own contact notes"}),
        # cases and callbacks: an agent's own; qa none
        Probe(cases, "/api/cases", "agent", 200, shows=("own case summary",), hides=hidden),
        Probe(cases, "/api/cases", "supervisor", 200,
              shows=("own case summary", "other case summary")),
        Probe(cases, "/api/cases", "qa", 403, "forbidden", hides=hidden),
        Probe(callbacks, "/api/callbacks", "agent", 200, shows=(OWN_NUMBER,), hides=hidden),
        Probe(callbacks, "/api/callbacks", "supervisor", 200, shows=(OWN_NUMBER, OTHER_NUMBER)),
        Probe(callbacks, "/api/callbacks", "qa", 403, "forbidden", hides=hidden),
        Probe(create, "/api/callbacks", "agent", 200, shows=(r.own_call,),
              body={"number": OWN_NUMBER, "purpose": "press-1"}),
        Probe(create, "/api/callbacks", "agent", 200, hides=(r.other_call, "pending"),
              body={"number": OTHER_NUMBER, "purpose": "press-1"}),
        Probe(create, "/api/callbacks", "qa", 403, "forbidden",
              body={"number": OTHER_NUMBER, "purpose": "press-1"}),
    ]  # fmt: skip


async def _send(
    client: SessionClient | None, app: RoutedApp, probe: Probe
) -> tuple[int, str | None, str]:
    """(status, error_id, the body as text) of one probe; None: the service token (admin)."""
    method = probe.route.split(" ", 1)[0]
    kwargs: dict[str, Any] = {} if probe.body is None else {"json": probe.body}
    async with asyncio.timeout(REQUEST_TIMEOUT):
        if client is None:
            response = await app.client.request(method, probe.path, **kwargs)
        else:
            response = await client.request(method, probe.path, **kwargs)
        raw = await response.read()
    text = raw.decode("utf-8", errors="replace")
    error_id = None
    if response.content_type == "application/json":
        with contextlib.suppress(ValueError):
            body = json.loads(text)
            if isinstance(body, dict):
                error_id = body.get("error_id")
    return response.status, error_id, text


def _judge(probe: Probe, status: int, error_id: str | None, text: str) -> list[str]:
    where = f"{probe.who} {probe.route.split(' ')[0]} {probe.path} -> {status} {error_id}"
    wrong: list[str] = []
    if probe.status == NOT_REFUSED:
        if status in (401, 403) or (status == 404 and error_id is not None):
            wrong.append(f"{where}: should get past the policy and the row rule")
    elif status != probe.status or (probe.error_id is not None and error_id != probe.error_id):
        wrong.append(f"{where}: expected {probe.status} {probe.error_id}")
    wrong += [f"{where}: should show {part!r}" for part in probe.shows if part not in text]
    wrong += [f"{where}: discloses {part!r}" for part in probe.hides if part and part in text]
    return wrong


def _contact_probe(probes: list[Probe], number: str) -> Probe:
    return next(
        p
        for p in probes
        if p.who == "agent" and p.route.startswith("GET") and p.path.endswith(f"/{number}")
    )


async def test_row_level_rules_role_by_role(routed: Callable[..., Any]) -> None:
    app: RoutedApp = await routed()
    await app.agent(OWN, login=False)
    await app.agent(OTHER, login=False)
    await make_user(app, "m-agent", role=Role.AGENT, staff_no=OWN)
    inspector = await make_user(app, "m-qa", role=Role.QA)
    await make_user(app, "qa-other", role=Role.QA)
    await make_user(app, "m-sup", role=Role.SUPERVISOR)
    folder = f"rows-{secrets.token_hex(4)}"
    try:
        rows = await _make_rows(app, inspector.id, folder)
        probes = _probes(rows)
        failures: list[str] = []
        async with contextlib.AsyncExitStack() as stack:
            clients: dict[str, SessionClient | None] = {"admin": None}
            clients["anonymous"] = SessionClient(
                await stack.enter_async_context(anonymous_client(app)), None, {}
            )
            for who, username in (("supervisor", "m-sup"), ("agent", "m-agent"), ("qa", "m-qa")):
                clients[who] = await stack.enter_async_context(_session(app, username))
            for probe in probes:
                status, error_id, text = await _send(clients[probe.who], app, probe)
                failures += _judge(probe, status, error_id, text)
            # Refused and unknown numbers answer alike: nothing tells them apart.
            refused = await _send(clients["agent"], app, _contact_probe(probes, OTHER_NUMBER))
            unknown = await _send(clients["agent"], app, _contact_probe(probes, UNKNOWN_NUMBER))
            assert refused[2].replace(OTHER_NUMBER, "N") == unknown[2].replace(UNKNOWN_NUMBER, "N")
        assert not failures, "\n".join(failures)

        # Every row-scoped route is probed, by a reader of every kind.
        table = {f"{p.method} {p.path}": p for p in access.table(app.app).all()}
        assert {p.route for p in probes} <= set(table), "a probe names no registered route"
        scoped = {route for route, policy in table.items() if policy.rows is not None}
        assert scoped <= {p.route for p in probes}, scoped - {p.route for p in probes}
        assert {p.who for p in probes} == set(ROW_READERS)

        # Nothing was written to the rows refused: the other contact, the other callback.
        other = await app.api("GET", f"/api/panel/contacts/{OTHER_NUMBER}?agent={OTHER}")
        assert (other["name"], other["notes"]) == ("Other Contact", "other contact notes")
        queued = (await app.api("GET", "/api/callbacks"))["callbacks"]
        theirs = [c for c in queued if c["number"] == OTHER_NUMBER]
        assert len(theirs) == 1 and theirs[0]["linkedid"] == rows.other_call
        assert any("merged" in note for note in theirs[0]["notes"])  # the request was kept

        # Every refused attempt at a recording, a transcript or a sample is in the audit log.
        audit = await app.api("GET", "/api/audit?action=denied&limit=1000")
        denied = {
            (e["actor"], e["role"], e["object_type"], e["object_id"], e["details"]["error_id"])
            for e in audit["entries"]
        }
        assert {
            ("m-agent", "agent", "recording", str(rows.own_recording), "forbidden"),
            ("anonymous", "anonymous", "recording", str(rows.own_recording), "not-authenticated"),
            ("m-qa", "qa", "recording", str(rows.other_recording), "not-assigned"),
            ("m-qa", "qa", "transcript", rows.other_call, "not-assigned"),
            ("m-agent", "agent", "transcript", rows.own_call, "forbidden"),
            ("m-agent", "agent", "qa-sample", "", "forbidden"),
            ("m-qa", "qa", "qa-sample", str(rows.other_sample), "not-assigned"),
        } <= denied, denied
        inspector_refusal = next(
            e for e in audit["entries"] if e["object_type"] == "recording" and e["actor"] == "m-qa"
        )  # the call is named in the log, not to the inspector
        assert inspector_refusal["details"]["linkedid"] == rows.other_call
        assert inspector_refusal["ip"] == "127.0.0.1"
    finally:
        shutil.rmtree(app.config.recordings_dir / folder, ignore_errors=True)
