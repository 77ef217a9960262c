"""HTTP API for callbacks: list (and overdue), create, cancel, reschedule."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from callcenter.agents.keys import AGENTS
from callcenter.callbacks.keys import CALLBACKS, SCHEDULE, SURVEYS
from callcenter.callbacks.numbers import CallbackError, normalize_number
from callcenter.callbacks.requests import Callback, Purpose, Status, callback_json
from callcenter.calls.keys import REPOSITORY
from callcenter.kernel.roles import MANAGERS, STAFF, Role
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import ApiError
from callcenter.kernel.web.request import id_param, json_object, timestamp_value

# Agents (their own) and managers; not QA, which sees only the calls assigned to it.
CALLBACK_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})


@contextlib.contextmanager
def _without_details() -> Iterator[None]:
    """This API has always answered a refused callback without its details (the panel's
    routes give them): kept so, clients may compare the body."""
    try:
        yield
    except CallbackError as exc:
        raise CallbackError(exc.error_id, exc.message) from None


def _time(value: object, name: str) -> float:
    """An epoch number or an ISO 8601 time with its offset, finite and within 1970-2100."""
    return timestamp_value(value, name)


def _id(request: web.Request) -> int:
    return id_param(request, "callback_id")


async def list_callbacks(request: web.Request) -> web.Response:
    repo = request.app[CALLBACKS]
    if request.query.get("overdue") in {"1", "true"}:
        found = await repo.overdue(time.time())
    else:
        raw = request.query.get("status")
        try:
            statuses = [Status(s) for s in raw.split(",")] if raw else None
        except ValueError:
            known = ", ".join(s.value for s in Status)
            raise ApiError(400, "bad-parameter", f"status must be among {known}") from None
        found = await repo.list_callbacks(statuses)
    own = access.agent_scope(request)
    if own is not None:
        found = await _agents_own(request, own, found)
    return web.json_response({"callbacks": [callback_json(c) for c in found]})


async def _agents_own(request: web.Request, staff_no: str, found: list[Callback]) -> list[Callback]:
    """An agent's callbacks: replies to the cases they own (首問負責制) and follow-ups of the
    calls they took. Callbacks are not otherwise assigned (the dialler gives each to whichever
    outbound agent is free) and record no creator."""
    cases = await request.app[AGENTS].list_cases()
    owned = {c.id for c in cases if c.owner == staff_no}
    taken = await request.app[REPOSITORY].handled(
        staff_no, [c.linkedid for c in found if c.linkedid]
    )
    return [c for c in found if c.case_id in owned or (c.linkedid and c.linkedid in taken)]


async def create_callback(request: web.Request) -> web.Response:
    body = await json_object(request)
    number, purpose = body.get("number"), body.get("purpose", "press-1")
    if not isinstance(number, str) or not isinstance(purpose, str):
        raise ApiError(400, "bad-field", "number and purpose must be strings")
    try:
        Purpose(purpose)
    except ValueError:
        known = ", ".join(p.value for p in Purpose)
        raise ApiError(400, "unknown-purpose", f"purpose must be one of {known}") from None
    details: dict[str, Any] = {}
    if "due_at" in body:
        details["due_at"] = _time(body["due_at"], "due_at")
    if "deadline" in body:
        details["deadline"] = _time(body["deadline"], "deadline")
    if isinstance(body.get("timezone"), str):
        details["timezone"] = body["timezone"]
    if body.get("case_id") is not None:
        if not isinstance(body["case_id"], int) or isinstance(body["case_id"], bool):
            raise ApiError(400, "bad-field", "case_id must be an integer", field="case_id")
        details["case_id"] = body["case_id"]
    own = access.agent_scope(request)
    if own is not None and "case_id" in details:
        owned = {c.id for c in await request.app[AGENTS].list_cases() if c.owner == own}
        if details["case_id"] not in owned:  # another's case: as if there were none
            raise ApiError(
                404, "case-not-found", f"no case {details['case_id']} of yours", field="case_id"
            )
    with _without_details():
        callback, merged = await request.app[CALLBACKS].request(
            number, purpose, time.time(), request.app[SCHEDULE], **details
        )
    if merged and own is not None and not await _agents_own(request, own, [callback]):
        # Merged into a callback the agent may not list: the request is kept, the row
        # stays unseen (row rule "callbacks").
        return web.json_response(_receipt(callback, normalize_number(number), purpose))
    return web.json_response(
        {**callback_json(callback), "merged": merged}, status=200 if merged else 201
    )


def _receipt(callback: Callback, number: str, purpose: str) -> dict[str, Any]:
    """The answer's shape with only what the requester said: no id, status, call or case."""
    shown: dict[str, Any] = dict.fromkeys(callback_json(callback))
    shown.update(number=number, purpose=purpose, notes=[], merged=True, visible=False)
    return shown


async def cancel_callback(request: web.Request) -> web.Response:
    with _without_details():
        callback = await request.app[CALLBACKS].cancel(_id(request))
    return web.json_response(callback_json(callback))


async def reschedule_callback(request: web.Request) -> web.Response:
    due = _time((await json_object(request)).get("due_at"), "due_at")
    with _without_details():
        callback = await request.app[CALLBACKS].reschedule(_id(request), due, request.app[SCHEDULE])
    return web.json_response(callback_json(callback))


async def list_surveys(request: web.Request) -> web.Response:
    answers = await request.app[SURVEYS].answers()
    return web.json_response(
        {
            "surveys": [
                {
                    "callback_id": a.callback_id,
                    "case_id": a.case_id,
                    "answer": a.answer,
                    "label": a.label,
                    "at": a.at,
                }
                for a in answers
            ]
        }
    )


async def close_case(request: web.Request) -> web.Response:
    """A supervisor closes a case without a satisfied follow-up (their decision, logged)."""
    case_id = id_param(request, "case_id")
    reason = (await json_object(request)).get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ApiError(400, "bad-field", "a supervisor's closing needs a reason", field="reason")
    if not await request.app[SURVEYS].close_by_supervisor(case_id, reason.strip()):
        raise ApiError(404, "case-not-open", f"no open case {case_id}")
    return web.json_response({"case_id": case_id, "status": "closed"})


def setup_callback_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="callbacks")
    r("GET", "/api/surveys", list_surveys, roles=STAFF, summary="satisfaction survey answers")
    r("POST", "/api/cases/{case_id}/close", close_case, roles=MANAGERS, summary="close a case")
    r(
        "GET",
        "/api/callbacks",
        list_callbacks,
        roles=CALLBACK_ROLES,
        summary="the callback queue (agents: their cases' and calls' callbacks)",
        rows="callbacks",
    )
    r(
        "POST",
        "/api/callbacks",
        create_callback,
        roles=CALLBACK_ROLES,
        summary="queue a callback (agents: one merged into another's is answered without it)",
        rows="callbacks",
    )
    r(
        "POST",
        "/api/callbacks/{callback_id}/cancel",
        cancel_callback,
        roles=MANAGERS,
        summary="cancel a callback",
    )
    r(
        "POST",
        "/api/callbacks/{callback_id}/reschedule",
        reschedule_callback,
        roles=MANAGERS,
        summary="move a pending callback",
    )
