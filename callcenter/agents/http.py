"""HTTP API for agents: roster, state actions, wrap-up, the greeting script, cases, alerts."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from typing import Any

from aiohttp import web

from callcenter.agents.domain import Agent, AgentState, agent_status_json
from callcenter.agents.keys import AGENT_REPOSITORY, AGENTS, PROVISIONING
from callcenter.agents.store import WrapUp
from callcenter.asterisk.prompts import MAX_UPLOAD_BYTES, PromptError
from callcenter.calls.keys import REPOSITORY
from callcenter.kernel.roles import EVERYONE, MANAGERS, STAFF, Role
from callcenter.kernel.shifts import parse_shifts
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import (
    ApiError,
)
from callcenter.kernel.web.keys import CONFIG
from callcenter.kernel.web.request import json_object

STAFF_NO = re.compile(r"[0-9A-Za-z_-]{1,32}")
# Who may act as an agent (log in, pause, file a wrap-up): the agent itself, supervisors
# and admins; not QA (row rule "agent", callcenter.kernel.web.rows).
AGENT_ACTORS = frozenset({Role.AGENT, Role.SUPERVISOR})
ENDPOINT = re.compile(r"[0-9A-Za-z_.-]{1,64}")


def _field(body: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "bad-field", f"{name} is required (a non-empty string)", field=name)
    value = value.strip()
    if pattern is not None and not pattern.fullmatch(value):
        raise ApiError(400, "bad-field", f"{name} {value!r} has characters not allowed", field=name)
    return value


async def list_agents(request: web.Request) -> web.Response:
    board = request.app[AGENTS].board
    return web.json_response(
        {"agents": [agent_status_json(a, board.status[s]) for s, a in sorted(board.agents.items())]}
    )


async def add_agent(request: web.Request) -> web.Response:
    body = await json_object(request)
    skills = body.get("skills", [request.app[CONFIG].router.skill])
    if not isinstance(skills, list) or not skills or not all(isinstance(s, str) for s in skills):
        raise ApiError(400, "bad-field", "skills must be a non-empty list of strings")
    agent = Agent(
        staff_no=_field(body, "staff_no", STAFF_NO),
        name=_field(body, "name"),
        endpoint=_field(body, "endpoint", ENDPOINT),
        skills=frozenset(skills),
        shift=body.get("shift") if isinstance(body.get("shift"), str) else None,
    )
    shifts = [s.name for s in parse_shifts(request.app[CONFIG].router.shifts)]
    if agent.shift is not None and len(agent.shift) > 32:  # the column's width
        raise ApiError(400, "bad-field", "shift has at most 32 characters", field="shift")
    if agent.shift is not None and shifts and agent.shift not in shifts:
        raise ApiError(
            400, "unknown-shift", f"shift {agent.shift!r} is not one of {', '.join(shifts)}"
        )
    agents = request.app[AGENTS]
    await agents.add_agent(agent)
    await request.app[PROVISIONING].apply(list(agents.board.agents.values()))
    return web.json_response(
        agent_status_json(agent, agents.board.status[agent.staff_no]), status=201
    )


async def remove_agent(request: web.Request) -> web.Response:
    await request.app[AGENTS].remove_agent(request.match_info["staff_no"])
    return web.json_response({"removed": request.match_info["staff_no"]})


async def agent_action(request: web.Request) -> web.Response:
    staff_no, action = request.match_info["staff_no"], request.match_info["action"]
    access.require_own_agent(request, staff_no)
    reason = None
    if action == "pause":
        reason = _field(await json_object(request), "reason")
    agents = request.app[AGENTS]
    moved_to: str | None = None
    if action == "login" and staff_no in agents.board.agents:
        # Hot-desking: an agent may log in at another phone than their own.
        body = await json_object(request) if request.can_read_body else {}
        endpoint = agents.board.agents[staff_no].endpoint
        if body.get("endpoint") is not None:
            endpoint = _field(body, "endpoint", ENDPOINT)
        known = await request.app[PROVISIONING].endpoint_exists(endpoint)
        if known is False:
            raise ApiError(
                409,
                "unknown-endpoint",
                f"Asterisk has no PJSIP endpoint {endpoint!r} for agent {staff_no}:"
                " check the agent's endpoint",
                endpoint=endpoint,
            )
        if endpoint != agents.board.agents[staff_no].endpoint:
            if any(a.endpoint == endpoint for a in agents.board.agents.values()):
                # Not the board's own refusal: it names the other agent, a row an agent
                # account may not list.
                raise ApiError(
                    409,
                    "endpoint-taken",
                    f"endpoint {endpoint!r} already belongs to another agent",
                    endpoint=endpoint,
                )
            moved_to = endpoint
    if action == "login":
        # Refused while the phone is unregistered (the agent is moved only after the check).
        status = await agents.login(staff_no, moved_to)
    else:
        status = agents.act(staff_no, action, reason)
    return web.json_response(agent_status_json(agents.board.agents[staff_no], status))


async def wrap_up(request: web.Request) -> web.Response:
    """File the after-call work: category, notes, resolved; a complaint opens a case."""
    staff_no = request.match_info["staff_no"]
    access.require_own_agent(request, staff_no)
    body = await json_object(request)
    config = request.app[CONFIG].router
    agents = request.app[AGENTS]
    status = agents.board.get(staff_no)
    linkedid = body.get("linkedid") or status.call
    if not isinstance(linkedid, str) or not linkedid:
        raise ApiError(400, "bad-field", "linkedid is required: the agent has no call to wrap up")
    if len(linkedid) > 64:  # the column's width: longer names no call
        raise ApiError(400, "bad-field", "linkedid has at most 64 characters", field="linkedid")
    if linkedid != status.call and access.agent_scope(request) is not None:
        with contextlib.suppress(TimeoutError):  # the state log is written behind the board
            await asyncio.wait_for(agents.flush(), 2.0)
        if not await request.app[REPOSITORY].handled(staff_no, [linkedid]):
            raise ApiError(
                404,
                "call-not-found",
                f"agent {staff_no} took no call {linkedid}",
                linkedid=linkedid,
            )
    category = _field(body, "category")
    if category not in config.categories:
        raise ApiError(
            400,
            "unknown-category",
            f"category {category!r} is not one of {', '.join(config.categories)}",
            categories=list(config.categories),
        )
    notes = body.get("notes", "")
    resolved = body.get("resolved", False)
    if not isinstance(notes, str) or not isinstance(resolved, bool):
        raise ApiError(400, "bad-field", "notes must be a string and resolved a boolean")
    subcategory = body.get("subcategory")
    if subcategory is not None and (not isinstance(subcategory, str) or len(subcategory) > 64):
        raise ApiError(
            400, "bad-field", "subcategory must be at most 64 characters", field="subcategory"
        )
    subcategory = (subcategory or "").strip() or None
    now = time.time()
    started = (
        status.since if status.state is AgentState.WRAP_UP and status.call == linkedid else None
    )
    case = None
    if category == config.complaint_category:
        case = ("complaint", now + config.complaint_reply_hours * 3600)
    # A complaint's case goes to the case watchers: the callbacks feature queues the reply
    # callback (48 h), or the follow-up once resolved.
    opened = await agents.file_wrap_up(
        WrapUp(linkedid, staff_no, category, notes, resolved, started, now, subcategory),
        case,
        ends_wrap_up=status.call == linkedid,
    )
    return web.json_response(
        {
            "linkedid": linkedid,
            "category": category,
            "subcategory": subcategory,
            "wrap_seconds": None if started is None else round(now - started, 3),
            "case": opened.to_json() if opened is not None else None,
            "agent": agent_status_json(
                agents.board.agents[staff_no], agents.board.status[staff_no]
            ),
        },
        status=201,
    )


async def script(request: web.Request) -> web.Response:
    """The greeting script (三聲服務) for this agent: opening, responses, closing."""
    staff_no = request.match_info["staff_no"]
    access.require_own_agent(request, staff_no)
    board = request.app[AGENTS].board
    if staff_no not in board.agents:
        raise ApiError(404, "unknown-agent", f"no agent with staff number {staff_no!r}")
    agent = board.agents[staff_no]
    return web.json_response(
        {
            "staff_no": staff_no,
            "announcement": request.app[PROVISIONING].prompts.text(agent),
            "opening": f"您好,XX公司客服部,工號{staff_no}為您服務。",
            "responses": ["請", "謝謝", "對不起", "請稍候"],
            "forbidden": ["喂", "哎", "不行", "不知道", "我不清楚", "不可以", "我不想回答你的問題"],
            "closing": ["您還有什麼需要幫助的嗎?", "再見"],
            "rules": [
                "speak at once when the call connects (no dead air)",
                "let the customer hang up first",
            ],
        }
    )


async def state_log(request: web.Request) -> web.Response:
    access.require_own_agent(request, request.match_info["staff_no"])
    # Transitions are written behind the board's back; read after they landed.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(request.app[AGENTS].flush(), 2.0)
    log = await request.app[AGENT_REPOSITORY].state_log(request.match_info["staff_no"])
    return web.json_response(
        {
            "transitions": [
                {
                    "at": t.at,
                    "old": t.old.value,
                    "new": t.new.value,
                    "reason": t.reason,
                    "linkedid": t.call,
                }
                for t in log
            ]
        }
    )


async def list_cases(request: web.Request) -> web.Response:
    status = request.query.get("status")
    cases = await request.app[AGENT_REPOSITORY].list_cases(status)
    own = access.agent_scope(request)
    if own is not None:
        cases = [c for c in cases if c.owner == own]  # 首問負責制: an agent's own cases
    return web.json_response({"cases": [c.to_json() for c in cases]})


async def list_callback_requests(request: web.Request) -> web.Response:
    requests = await request.app[AGENT_REPOSITORY].list_callback_requests()
    return web.json_response({"callback_requests": [r.to_json() for r in requests]})


async def alerts(request: web.Request) -> web.Response:
    return web.json_response({"alerts": [a.__dict__ for a in request.app[AGENTS].alerts]})


async def put_prompt(request: web.Request) -> web.Response:
    """The agent's recorded staff-number announcement: the WAV is the body."""
    agents = request.app[AGENTS]
    agents.board.get(request.match_info["staff_no"])  # unknown-agent
    agent = agents.board.agents[request.match_info["staff_no"]]
    size = request.content_length
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise PromptError("prompt-too-large", f"the recording is {size} bytes", bytes=size)
    try:
        data = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise PromptError("prompt-too-large", "the recording is too large") from exc
    info = await request.app[PROVISIONING].prompts.upload(agent, data)
    return web.json_response({"staff_no": agent.staff_no, "prompt": info.to_json()})


async def delete_prompt(request: web.Request) -> web.Response:
    """Back to the generated announcement."""
    agents = request.app[AGENTS]
    agents.board.get(request.match_info["staff_no"])  # unknown-agent
    agent = agents.board.agents[request.match_info["staff_no"]]
    prompts = request.app[PROVISIONING].prompts
    if not await prompts.remove_recording(agent):
        raise ApiError(404, "no-recorded-prompt", f"agent {agent.staff_no} has no recording")
    await prompts.ensure([agent])
    return web.json_response({"staff_no": agent.staff_no, "prompt": prompts.info(agent).to_json()})


def setup_agent_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="agents")
    r("GET", "/api/agents", list_agents, roles=STAFF, summary="agents and their live states")
    r("POST", "/api/agents", add_agent, roles=MANAGERS, summary="add an agent")
    r("DELETE", "/api/agents/{staff_no}", remove_agent, roles=MANAGERS, summary="remove an agent")
    r(
        "POST",
        "/api/agents/{staff_no}/{action:login|logout|pause|unpause}",
        agent_action,
        roles=AGENT_ACTORS,
        summary="log in, log out, pause or unpause (agents: themselves only)",
        rows="agent",
    )
    r(
        "POST",
        "/api/agents/{staff_no}/wrapup",
        wrap_up,
        roles=AGENT_ACTORS,
        summary="file the wrap-up of the agent's last call (agents: themselves only)",
        rows="agent",
    )
    r(
        "GET",
        "/api/agents/{staff_no}/script",
        script,
        roles=EVERYONE,
        summary="greeting script (agents: their own)",
        rows="agent-views",
    )
    r(
        "GET",
        "/api/agents/{staff_no}/states",
        state_log,
        roles=EVERYONE,
        summary="the agent's state log (agents: themselves only)",
        rows="agent-views",
    )
    r(
        "GET",
        "/api/cases",
        list_cases,
        roles=AGENT_ACTORS,  # not QA: a case holds the caller's number
        summary="complaint cases (agents: own)",
        rows="cases",
    )
    r(
        "GET",
        "/api/callback-requests",
        list_callback_requests,
        roles=MANAGERS,
        summary="callback requests taken by the dialplan",
    )
    r("GET", "/api/alerts", alerts, roles=MANAGERS, summary="router alerts")
    r(
        "PUT",
        "/api/agents/{staff_no}/prompt",
        put_prompt,
        roles=MANAGERS,
        summary="upload the agent's recorded staff-number announcement (WAV body, <= 1.5 s)",
    )
    r(
        "DELETE",
        "/api/agents/{staff_no}/prompt",
        delete_prompt,
        roles=MANAGERS,
        summary="drop the agent's recorded announcement (the generated one plays again)",
    )
