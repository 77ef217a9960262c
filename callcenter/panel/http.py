"""The agent panel: its page, its WebSocket (screen pops, live state) and its API.

An agent opens `/panel` and acts only as themselves; a supervisor or admin
opens `/panel?agent=STAFF_NO` to see (and act for) one agent. Queue login,
pause and wrap-up go through the agent API (`callcenter.agents.http`); what is
here is the panel's own: the live feed, the pop of a call, contacts, the
callbacks the agent owns and click-to-call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import json
import time
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from callcenter.agents.domain import MISSED_CALLS, agent_status_json
from callcenter.agents.http import STAFF_NO
from callcenter.agents.keys import AGENTS
from callcenter.callbacks.keys import SCHEDULE
from callcenter.callbacks.numbers import normalize_number
from callcenter.callbacks.requests import callback_json
from callcenter.calls.keys import CALL_SCOPE, REPOSITORY
from callcenter.kernel.roles import Role
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import ApiError
from callcenter.kernel.web.keys import CONFIG
from callcenter.kernel.web.pages import html_response, page, pick_lang
from callcenter.kernel.web.request import json_object
from callcenter.kernel.web.websocket import serve_websocket
from callcenter.panel.keys import CLICK_TO_CALL, PANEL, PANEL_BROADCAST, PANEL_REPOSITORY
from callcenter.panel.pop import ScreenPop
from callcenter.panel.service import topic
from callcenter.panel.store import contact_key

STATIC_DIR: Final = Path(__file__).parent / "static"
# Suggested complaint types for the wrap-up form (free text is accepted too).
COMPLAINT_TYPES: Final = ("服務態度", "產品質量", "收費", "配送", "維修", "等候時間", "other")
MAX_NOTES: Final = 4000

# Agents open their own panel, supervisors any agent's (admins always pass); QA has none.
PANEL_ROLES: Final = frozenset({Role.AGENT, Role.SUPERVISOR})
CONTACTS: Final = "contacts"  # the row rule (callcenter.kernel.web.rows)


# -- wiring ---------------------------------------------------------------------------------


# -- who the panel is for ------------------------------------------------------------------


def panel_agent(request: web.Request, asked: str | None = None) -> str:
    """The staff number this request acts for: an agent's own; a manager's `?agent=`."""
    asked = asked if asked is not None else request.query.get("agent") or None
    if asked is not None and not STAFF_NO.fullmatch(asked):
        raise ApiError(400, "bad-parameter", f"agent {asked!r} is not a staff number")
    own = access.agent_scope(request)
    if own is not None:
        if not own:
            raise ApiError(
                403, "no-staff-number", "this agent account has no staff number: ask an admin"
            )
        access.require_own_agent(request, asked or own)
        staff_no = own
    elif asked is None:
        raise ApiError(
            400, "agent-required", "say whose panel to open: ?agent=STAFF_NO", field="agent"
        )
    else:
        staff_no = asked
    if staff_no not in request.app[AGENTS].board.agents:
        raise ApiError(404, "unknown-agent", f"no agent with staff number {staff_no!r}")
    return staff_no


def _pop_json(pop: ScreenPop | None) -> dict[str, Any] | None:
    return None if pop is None else pop.to_json(time.time())


def _current_pop(request: web.Request, staff_no: str) -> ScreenPop | None:
    call = request.app[AGENTS].board.status[staff_no].call
    return request.app[PANEL].recent(call, staff_no) if call else None


def _state(request: web.Request, staff_no: str) -> dict[str, Any]:
    board = request.app[AGENTS].board
    return agent_status_json(board.agents[staff_no], board.status[staff_no])


# -- handlers -----------------------------------------------------------------------------


_PAGE_TEXT: Final = {"zh-CN": "座席面板", "en": "Agent panel"}


async def panel_page(request: web.Request) -> web.Response:
    """The page is a shell; panel.js draws it from /api/panel/state and the WebSocket."""
    lang = pick_lang(request)
    title = _PAGE_TEXT[lang]
    body = (
        '<header class="cc-bar panel-bar">'
        f'<h1 class="cc-title" id="panel-title">{html.escape(title)}</h1>'
        '<span id="panel-agent"></span>'
        '<span id="ws-status" data-state="connecting"></span>'
        '<span class="cc-langs"><a href="?lang=zh-CN" data-lang="zh-CN">中文</a>'
        '<a href="?lang=en" data-lang="en">English</a></span>'
        '<span id="cc-user"></span></header>'
        '<div id="panel-error" class="cc-error" role="alert" hidden></div>'
        '<main id="panel" class="panel"></main>'
    )
    return html_response(
        page(
            title,
            body,
            lang=lang,
            scripts=["/static/panel/panel.js"],
            styles=["/static/panel/panel.css"],
        )
    )


async def panel_state(request: web.Request) -> web.Response:
    """Everything the page needs to start: the agent, the choices, the current pop."""
    staff_no = panel_agent(request)
    config = request.app[CONFIG].router
    return web.json_response(
        {
            "agent": _state(request, staff_no),
            "pause_reasons": [r for r in config.pause_reasons if r != MISSED_CALLS],
            "categories": list(config.categories),
            "complaint_category": config.complaint_category,
            "complaint_types": list(COMPLAINT_TYPES),
            "wrap_up_seconds": config.wrap_up_seconds,
            "pop": _pop_json(_current_pop(request, staff_no)),
        }
    )


async def panel_socket(request: web.Request) -> web.StreamResponse:
    """Screen pops and state changes for one agent, pushed (topic `agent:<staff_no>`)."""
    staff_no = panel_agent(request)

    def hello() -> str:
        # Built right after subscribing: nothing published in between is lost.
        pop = _pop_json(_current_pop(request, staff_no))
        return json.dumps(
            {"type": "hello", "agent": _state(request, staff_no), "pop": pop}, ensure_ascii=False
        )

    return await serve_websocket(
        request, request.app[PANEL_BROADCAST], initial=hello, topics=topic(staff_no)
    )


async def get_pop(request: web.Request) -> web.Response:
    """The pop of a call again (a reloaded page): kept in memory, else from the call log.
    An agent gets only pops of calls offered to or worked by them."""
    staff_no = panel_agent(request)
    linkedid = request.match_info["linkedid"]
    service = request.app[PANEL]
    pop = service.recent(linkedid, staff_no)
    if pop is None:
        # The accounts' row-level rule for an agent's own calls (state log, wrap-up).
        mine = await request.app[REPOSITORY].handled(staff_no, [linkedid])
        if access.principal(request).role is not Role.AGENT or mine:
            pop = await service.rebuild(linkedid, staff_no)
    if pop is None:
        raise ApiError(
            404, "pop-not-found", f"no screen pop for call {linkedid} here", linkedid=linkedid
        )
    return web.json_response(pop.to_json(time.time()))


def _no_contact(number: str) -> ApiError:
    """Unknown and not the reader's answer alike: nothing tells them apart."""
    return ApiError(404, "contact-not-found", f"no contact for {number!r}", number=number)


async def _may_see_number(request: web.Request, staff_no: str, number: str) -> bool:
    """The row rule "contacts": an agent sees the numbers of the calls it handled (and of
    the call on its screen now); managers every number."""
    where = request.app[CALL_SCOPE].where(access.principal(request), CONTACTS)
    if where is None:
        return True
    key = contact_key(number)
    if key is None:
        return False
    pop = _current_pop(request, staff_no)
    if pop is not None and pop.number and contact_key(pop.number) == key:
        return True
    with contextlib.suppress(TimeoutError):  # the state log is written behind the board
        await asyncio.wait_for(request.app[AGENTS].flush(), 2.0)
    return await request.app[PANEL_REPOSITORY].number_seen(number, where)


async def get_contact(request: web.Request) -> web.Response:
    staff_no = panel_agent(request)
    number = request.match_info["number"]
    contact = None
    if await _may_see_number(request, staff_no, number):
        contact = await request.app[PANEL_REPOSITORY].contact(number)
    if contact is None:
        raise _no_contact(number)
    return web.json_response(contact.to_json())


async def put_contact(request: web.Request) -> web.Response:
    """Correct a caller's name, notes, member flag (from the wrap-up form)."""
    staff_no = panel_agent(request)
    body = await json_object(request)
    name, notes, member = body.get("name"), body.get("notes"), body.get("member")
    if name is not None and (not isinstance(name, str) or len(name.strip()) > 100):
        raise ApiError(
            400, "bad-field", "name must be text of at most 100 characters", field="name"
        )
    if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
        raise ApiError(
            400, "bad-field", f"notes must be text of at most {MAX_NOTES} characters", field="notes"
        )
    if member is not None and not isinstance(member, bool):
        raise ApiError(400, "bad-field", "member must be true or false", field="member")
    number = request.match_info["number"]
    normalize_number(number)  # a bad number is a 400 for everyone (CallbackError)
    if not await _may_see_number(request, staff_no, number):
        raise _no_contact(number)  # nothing written
    who = access.principal(request)
    contact = await request.app[PANEL_REPOSITORY].save_contact(
        number,
        name=name.strip() if isinstance(name, str) else None,
        notes=notes,
        member=member,
        by=who.username if who.staff_no is None else f"{who.username} ({who.staff_no})",
        at=time.time(),
    )
    # The pop on screen shows the corrected name at once.
    pop = _current_pop(request, staff_no)
    if pop is not None and pop.number and contact.number in (pop.number, contact_key(pop.number)):
        request.app[PANEL].refresh(
            await request.app[PANEL].lookup(
                pop.linkedid, staff_no, pop.number, pop.caller_id_name, pop.queue, pop.at
            )
        )
    return web.json_response(contact.to_json())


async def agent_callbacks(request: web.Request) -> web.Response:
    staff_no = panel_agent(request)
    found = await request.app[PANEL_REPOSITORY].callbacks_for(staff_no)
    return web.json_response({"agent": staff_no, "callbacks": [callback_json(c) for c in found]})


async def click_to_call(request: web.Request) -> web.Response:
    """Ring the agent's own softphone, then the number; logged as an outbound call."""
    body = await json_object(request)
    asked = body.get("agent")
    if asked is not None and not isinstance(asked, str):
        raise ApiError(400, "bad-field", "agent must be a staff number", field="agent")
    staff_no = panel_agent(request, asked)
    number = body.get("number")
    if not isinstance(number, str) or not number.strip():
        raise ApiError(400, "bad-field", "number is required", field="number")
    checked = request.app[SCHEDULE].do_not_call.check(number)
    placed = await request.app[CLICK_TO_CALL].call(staff_no, checked)
    return web.json_response(
        {"agent": placed.staff_no, "number": placed.number, "status": "ringing-agent"},
        status=202,
    )


def setup_panel_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="panel", roles=PANEL_ROLES)
    r("GET", "/panel", panel_page, summary="the agent panel (agents; managers ?agent=)", page=True)
    r("GET", "/ws/panel", panel_socket, summary="screen pops and state (WebSocket)", rows="panel")
    r(
        "GET",
        "/api/panel/state",
        panel_state,
        summary="the panel's agent, choices, current pop",
        rows="panel",
    )
    r(
        "GET",
        "/api/panel/pop/{linkedid}",
        get_pop,
        summary="a call's screen pop (own calls)",
        rows="pops",
    )
    r(
        "GET",
        "/api/panel/callbacks",
        agent_callbacks,
        summary="callbacks the agent owns",
        rows="panel",
    )
    r(
        "GET",
        "/api/panel/contacts/{number}",
        get_contact,
        summary="a caller's contact (agents: numbers of their calls)",
        rows=CONTACTS,
    )
    r(
        "PUT",
        "/api/panel/contacts/{number}",
        put_contact,
        summary="correct a caller's contact (agents: numbers of their calls)",
        rows=CONTACTS,
    )
    r(
        "POST",
        "/api/panel/call",
        click_to_call,
        summary="click-to-call via the agent's phone",
        rows="panel",
    )
    access.static(
        app, "/static/panel", str(STATIC_DIR), roles=PANEL_ROLES, summary="the agent panel's files"
    )
