"""Logging in and out: the login page, session cookies, `/api/me`, the start page.

Sessions are server-side rows (`callcenter.accounts.store`);
the cookie holds only a random token. The cookie is HttpOnly, SameSite=Strict
and Secure unless `CALLCENTER_COOKIE_SECURE=0` (the default on a loopback web
host only); with Secure it is named `__Host-cc_session`, which browsers bind
to this host and path `/`.

CSRF: the access middleware checks the session's token on unsafe methods.
The login form has no session yet: it carries a pre-session token that must
echo a SameSite=Strict cookie set with the form (double submit), so a
cross-site page cannot log a victim into the attacker's account. JSON logins
need `Content-Type: application/json`, which a cross-site form cannot send
without a CORS preflight that this service never grants.
"""

from __future__ import annotations

import functools
import logging
import secrets

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from callcenter.accounts import login_page
from callcenter.accounts.keys import ACCOUNTS, SESSION, SESSION_TOKEN
from callcenter.accounts.service import (
    LoginFailed,
    LoginThrottled,
)
from callcenter.accounts.users import AccountError
from callcenter.config import Config
from callcenter.kernel.roles import EVERYONE, Principal, Role
from callcenter.kernel.web import access, csrf
from callcenter.kernel.web.access import PUBLIC
from callcenter.kernel.web.errors import ApiError
from callcenter.kernel.web.keys import CONFIG
from callcenter.kernel.web.pages import html_response, pick_lang
from callcenter.kernel.web.request import form_data, json_object

log = logging.getLogger(__name__)


LOGIN_CSRF_COOKIE = "cc_login_csrf"
LOGIN_CSRF_MAX_AGE = 3600
HOME = {
    Role.AGENT: "/panel",
    Role.QA: "/qa",
    Role.SUPERVISOR: "/dashboard",
    Role.ADMIN: "/dashboard",
}


def cookie_name(config: Config) -> str:
    return "__Host-cc_session" if config.auth.cookie_secure else "cc_session"


async def session_authenticator(request: web.Request) -> Principal | None:
    token = request.cookies.get(cookie_name(request.app[CONFIG]))
    if not token or ACCOUNTS not in request.app:
        return None
    try:
        active = await request.app[ACCOUNTS].resolve(token)
    except (SQLAlchemyError, OSError):
        log.warning("session lookup failed: database unavailable", exc_info=True)
        raise ApiError(503, "database-unavailable", "cannot check the session now") from None
    if active is None:
        return None
    request[SESSION] = active
    request[SESSION_TOKEN] = token
    request[access.CSRF_EXPECTED] = active.session.csrf_token
    return active.principal


def client_ip(request: web.Request) -> str | None:
    if request.app[CONFIG].auth.trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()[:64]
    return request.remote


def safe_next(raw: object) -> str:
    """Only a path on this site: never `//evil.example` or `https://...` (open redirect)."""
    if not isinstance(raw, str) or not raw.startswith("/") or raw.startswith(("//", "/\\")):
        return "/"
    if any(c in raw for c in "\r\n\t") or raw.startswith("/login") or raw.startswith("/logout"):
        return "/"
    return raw


def _set_session_cookie(response: web.StreamResponse, config: Config, token: str) -> None:
    # No Max-Age: the cookie ends with the browser; the server enforces idle/absolute expiry.
    response.set_cookie(
        cookie_name(config),
        token,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=config.auth.cookie_secure,
    )


def _clear_cookie(response: web.StreamResponse, name: str, config: Config, path: str) -> None:
    response.set_cookie(
        name,
        "",
        path=path,
        max_age=0,
        expires="Thu, 01 Jan 1970 00:00:00 GMT",
        httponly=True,
        samesite="Strict",
        secure=config.auth.cookie_secure,
    )


# -- the login page ---------------------------------------------------------------------------


def _login_response(
    request: web.Request,
    *,
    status: int = 200,
    next_path: str = "/",
    username: str = "",
    error: str | None = None,
    notice: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    config = request.app[CONFIG]
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if len(token) < 32:
        token = secrets.token_urlsafe(32)
    text = login_page.render(
        pick_lang(request),
        csrf_token=token,
        next_path=next_path,
        username=username,
        error=error,
        notice=notice,
    )
    response = html_response(text, status)
    response.headers.update(headers or {})
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/login",
        max_age=LOGIN_CSRF_MAX_AGE,
        httponly=True,
        samesite="Strict",
        secure=config.auth.cookie_secure,
    )
    return response


async def login_form(request: web.Request) -> web.Response:
    found = access.maybe_principal(request)
    next_path = safe_next(request.query.get("next"))
    if found is not None and found.via == "session":
        raise web.HTTPSeeOther(next_path)
    notice = None
    if request.query.get("logged_out"):
        notice = login_page.message(pick_lang(request), "logged-out")
    return _login_response(request, next_path=next_path, notice=notice)


async def login(request: web.Request) -> web.StreamResponse:
    """POST /login: a form (the page) or JSON (scripts, tests); rotates the session."""
    as_json = request.content_type == "application/json"
    lang = pick_lang(request)
    if as_json:
        body = await json_object(request)
        username, password, next_path = body.get("username"), body.get("password"), "/"
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(400, "bad-field", "username and password are required (strings)")
    else:
        form = await form_data(request)
        username = _text(form.get("username"))
        password = _text(form.get("password"))
        next_path = safe_next(form.get("next"))
        verdict = csrf.check_double_submit(
            request.cookies.get(LOGIN_CSRF_COOKIE), _text(form.get(csrf.FORM_FIELD))
        )
        if not verdict.ok:
            return _login_response(
                request,
                status=403,
                next_path=next_path,
                username=username,
                error=login_page.message(lang, "csrf-failed"),
            )
        if not username or not password:
            return _login_response(
                request,
                status=400,
                next_path=next_path,
                username=username,
                error=login_page.message(lang, "missing-fields"),
            )
    accounts = request.app[ACCOUNTS]
    ip = client_ip(request)
    try:
        user = await accounts.login(username, password, ip)
    except LoginThrottled as exc:
        retry = {"Retry-After": str(exc.retry_after)}
        if as_json:
            return web.json_response(
                {"error_id": exc.error_id, "message": str(exc), "details": exc.details},
                status=429,
                headers=retry,
            )
        return _login_response(
            request,
            status=429,
            next_path=next_path,
            username=username,
            error=login_page.message(lang, exc.error_id, retry_after=exc.retry_after),
            headers=retry,
        )
    except LoginFailed as exc:
        if as_json:
            raise  # 401 from the error middleware; the form gets the page again
        return _login_response(
            request,
            status=401,
            next_path=next_path,
            username=username,
            error=login_page.message(lang, exc.error_id),
        )
    config = request.app[CONFIG]
    token, stored = await accounts.start_session(
        user,
        ip,
        request.headers.get("User-Agent"),
        replacing=request.cookies.get(cookie_name(config)),
    )
    if as_json:
        response = web.json_response(
            {"user": user.principal().to_json(), "csrf_token": stored.csrf_token}
        )
    else:
        response = _see_other(next_path)
    _set_session_cookie(response, config, token)
    _clear_cookie(response, LOGIN_CSRF_COOKIE, config, "/login")
    log.info("login: %s (%s) from %s", user.username, user.role.value, ip)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session (the row is deleted, not just the cookie)."""
    config = request.app[CONFIG]
    token = request.get(SESSION_TOKEN) or request.cookies.get(cookie_name(config))
    if token:
        await request.app[ACCOUNTS].end_session(token)
    accept = request.headers.get("Accept", "")
    if request.content_type in access.FORM_TYPES or "text/html" in accept:
        response = _see_other("/login?logged_out=1")
    else:
        response = web.json_response({"logged_out": True})
    _clear_cookie(response, cookie_name(config), config, "/")
    return response


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


# -- who am I -----------------------------------------------------------------------------------


async def me(request: web.Request) -> web.Response:
    found = access.principal(request)
    active = request.get(SESSION)
    session = None
    if active is not None:
        config = request.app[CONFIG].auth
        session = {
            "expires_at": active.session.expires_at,
            "idle_timeout": config.session_idle,
        }
    return web.json_response(
        {
            "user": found.to_json(),
            "csrf_token": request.get(access.CSRF_EXPECTED),
            "session": session,
        }
    )


async def change_own_password(request: web.Request) -> web.Response:
    """Any logged-in user: the current password (throttled like a login), then the new one."""
    found = access.principal(request)
    if found.user_id is None:
        raise ApiError(400, "no-password", "the service token has no password to change")
    body = await json_object(request)
    accounts = request.app[ACCOUNTS]
    try:
        await accounts.login(found.username, body.get("current_password"), client_ip(request))
    except LoginFailed:
        raise ApiError(400, "wrong-password", "the current password is not right") from None
    active = request.get(SESSION)
    try:
        user = await accounts.set_password(
            found.username,
            body.get("new_password"),
            keep_session=active.session.id if active is not None else None,
        )
    except AccountError as exc:
        # Always a 400 without details here, even for a user deleted meanwhile (the admin
        # API answers that 404 with the username): kept as the route has answered so far.
        raise ApiError(400, exc.error_id, exc.message) from None
    return web.json_response({"user": user.to_json(), "other_sessions_ended": True})


async def home(request: web.Request) -> web.StreamResponse:
    """`/`: each role's own start page."""
    raise web.HTTPFound(HOME[access.principal(request).role])


def setup_auth_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="accounts")
    r("GET", "/", home, roles=EVERYONE, page=True, summary="the start page of the user's role")
    r("GET", "/login", login_form, roles=PUBLIC, page=True, summary="the login page")
    r(
        "POST",
        "/login",
        login,
        roles=PUBLIC,
        csrf=False,  # checks its own pre-session token (form) / needs JSON
        summary="log in (form or JSON); sets the session cookie",
    )
    r("POST", "/logout", logout, roles=PUBLIC, summary="log out: the session ends")
    r("GET", "/api/me", me, roles=EVERYONE, summary="who is logged in, and the CSRF token")
    r(
        "POST",
        "/api/me/password",
        change_own_password,
        roles=EVERYONE,
        summary="change one's own password",
    )
