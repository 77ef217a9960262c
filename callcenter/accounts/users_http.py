"""Admin API for user accounts: list, create, change role/name/agent, password, disable."""

from __future__ import annotations

import functools

from aiohttp import web

from callcenter.accounts.keys import ACCOUNTS, SESSION
from callcenter.kernel.roles import ADMINS
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import ApiError
from callcenter.kernel.web.request import json_object

_CHANGEABLE = {"role", "display_name", "staff_no", "disabled"}


async def list_users(request: web.Request) -> web.Response:
    users = await request.app[ACCOUNTS].list_users()
    return web.json_response({"users": [u.to_json() for u in users]})


async def get_user(request: web.Request) -> web.Response:
    user = await request.app[ACCOUNTS].user(request.match_info["username"])
    return web.json_response(user.to_json())


async def create_user(request: web.Request) -> web.Response:
    body = await json_object(request)
    user = await request.app[ACCOUNTS].create_user(
        body.get("username"),
        role=body.get("role"),
        password=body.get("password"),
        display_name=body.get("display_name"),
        staff_no=body.get("staff_no"),
    )
    return web.json_response(user.to_json(), status=201)


async def change_user(request: web.Request) -> web.Response:
    body = await json_object(request)
    unknown = set(body) - _CHANGEABLE
    if unknown:
        raise ApiError(
            400,
            "bad-field",
            f"only {', '.join(sorted(_CHANGEABLE))} can be changed here"
            " (passwords: POST .../password)",
            fields=sorted(unknown),
        )
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise ApiError(400, "bad-field", "disabled must be true or false", field="disabled")
    user = await request.app[ACCOUNTS].change(
        request.match_info["username"],
        role=body.get("role"),
        display_name=body.get("display_name"),
        staff_no=body["staff_no"] if "staff_no" in body else ...,
        disabled=disabled,
    )
    return web.json_response(user.to_json())


async def set_password(request: web.Request) -> web.Response:
    """An admin sets someone's password; their sessions end (the admin's own current one stays)."""
    body = await json_object(request)
    active = request.get(SESSION)
    user = await request.app[ACCOUNTS].set_password(
        request.match_info["username"],
        body.get("password"),
        keep_session=active.session.id if active is not None else None,
    )
    return web.json_response(user.to_json())


async def _enable(request: web.Request, disabled: bool) -> web.Response:
    user = await request.app[ACCOUNTS].change(request.match_info["username"], disabled=disabled)
    return web.json_response(user.to_json())


async def disable_user(request: web.Request) -> web.Response:
    return await _enable(request, True)


async def enable_user(request: web.Request) -> web.Response:
    return await _enable(request, False)


def setup_user_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="accounts", roles=ADMINS)
    r("GET", "/api/users", list_users, summary="user accounts")
    r("POST", "/api/users", create_user, summary="create a user account")
    r("GET", "/api/users/{username}", get_user, summary="one user account")
    r("PATCH", "/api/users/{username}", change_user, summary="change role, name or agent")
    r("POST", "/api/users/{username}/password", set_password, summary="set a user's password")
    r("POST", "/api/users/{username}/disable", disable_user, summary="disable an account")
    r("POST", "/api/users/{username}/enable", enable_user, summary="enable an account again")
