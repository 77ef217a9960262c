"""Who may call what: one table of route policies, enforced by one middleware.

Every route is registered through `route()` with the roles it admits (or
`PUBLIC`). A route registered any other way has no policy and is refused
(fail closed), so a forgotten check is a 403 in the tests, not a leak. The
same table feeds the OpenAPI description and the access-control tests.

Which rows a caller who got past its route's policy may see is the other half,
`callcenter.kernel.web.rows`; a route names its row rule here (`rows=`). A route
whose refusals must leave a trace (recordings: the audit log) hands in
`on_refused`, told of every 401/403 on it, the policy's and its handler's.

Authentication is pluggable: authenticators (service token, session cookie)
are tried in order; the first that recognises the request wins.
"""

from __future__ import annotations

import hmac
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from aiohttp import web
from aiohttp.typedefs import Handler

from callcenter.kernel.errors import DomainError, Kind
from callcenter.kernel.roles import Principal, Role
from callcenter.kernel.web import csrf, rows
from callcenter.kernel.web.errors import ApiError
from callcenter.kernel.web.pages import refused_page
from callcenter.kernel.web.request import form_data

PUBLIC: Final = "public"
FORM_TYPES: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

Authenticator = Callable[[web.Request], Awaitable[Principal | None]]
# Told of a refusal (who asked, None: anonymous) before it is answered; what it raises is
# logged, and the refusal stands.
RefusalHook = Callable[[web.Request, Principal | None, DomainError], Awaitable[None]]
REFUSALS: Final = frozenset({Kind.UNAUTHENTICATED, Kind.FORBIDDEN})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutePolicy:
    method: str
    path: str
    roles: frozenset[Role] | None  # None: public
    summary: str
    page: bool = False  # an HTML page: anonymous users are sent to the login page
    tag: str = "api"
    # Unsafe methods by a cookie session need the CSRF token; off only for the login
    # form, which checks its own pre-session token (callcenter.accounts.http).
    csrf: bool = True
    rows: str | None = None  # the row rule (callcenter.kernel.web.rows) of its rows
    on_refused: RefusalHook | None = field(default=None, compare=False)


@dataclass
class AccessTable:
    policies: dict[web.AbstractRoute, RoutePolicy] = field(default_factory=dict)
    authenticators: list[Authenticator] = field(default_factory=list)
    # The session cookie's name, for the OpenAPI security scheme (set by the accounts setup).
    session_cookie: str | None = None

    def all(self) -> list[RoutePolicy]:
        return sorted(self.policies.values(), key=lambda p: (p.path, p.method))

    async def authenticate(self, request: web.Request) -> Principal | None:
        for authenticate in self.authenticators:
            principal = await authenticate(request)
            if principal is not None:
                return principal
        return None


ACCESS = web.AppKey("access", AccessTable)
_PRINCIPAL = web.RequestKey("principal", Principal)
# The session's CSRF token, set by the session authenticator (callcenter.accounts.http).
CSRF_EXPECTED = web.RequestKey("csrf_expected", str)


def table(app: web.Application) -> AccessTable:
    if ACCESS not in app:
        app[ACCESS] = AccessTable()
    return app[ACCESS]


def route(
    app: web.Application,
    method: str,
    path: str,
    handler: Handler,
    *,
    roles: Iterable[Role] | Literal["public"],
    summary: str,
    page: bool = False,
    tag: str = "api",
    csrf: bool = True,
    rows: str | None = None,
    on_refused: RefusalHook | None = None,
) -> None:
    """Register a route together with who may call it (and which rows: `rows`)."""
    granted = None if roles == PUBLIC else frozenset(roles)
    if rows is not None:
        check_rows(rows, granted, f"{method.upper()} {path}", audited=on_refused is not None)
    registered = app.router.add_route(method, path, handler)
    table(app).policies[registered] = RoutePolicy(
        method.upper(),
        path,
        granted,
        summary,
        page=page,
        tag=tag,
        csrf=csrf,
        rows=rows,
        on_refused=on_refused,
    )


def check_rows(
    resource: str, granted: frozenset[Role] | None, where: str, *, audited: bool
) -> None:
    """A route's roles and its row rule must agree, and a rule whose refusals are audited
    needs the route's refusal hook; a contradiction stops the start."""
    if granted is None:
        raise ValueError(f"{where}: a public route has no rows to scope")
    rows.check_route(resource, granted, where)
    if rows.rule(resource).refused.audited and not audited:
        raise ValueError(f"{where}: refusals of {resource!r} are audited: pass on_refused")


def static(
    app: web.Application,
    prefix: str,
    directory: str,
    *,
    roles: Iterable[Role] | Literal["public"],
    summary: str,
) -> None:
    """Static files (scripts, styles) under one policy."""
    resource = app.router.add_static(prefix, directory)
    granted = None if roles == PUBLIC else frozenset(roles)
    for registered in resource:
        table(app).policies[registered] = RoutePolicy(
            registered.method, prefix + "/{filename}", granted, summary, tag="static"
        )


def principal(request: web.Request) -> Principal:
    """The caller, as established by the middleware (401 when anonymous)."""
    if _PRINCIPAL not in request:
        raise ApiError(401, "not-authenticated", "log in first")
    return request[_PRINCIPAL]


def maybe_principal(request: web.Request) -> Principal | None:
    return request[_PRINCIPAL] if _PRINCIPAL in request else None


def agent_scope(request: web.Request) -> str | None:
    """The staff number an agent account is limited to; None for every other role.

    Handlers use it for row-level rules: an agent sees only their own calls and
    cases and acts only as their own agent.
    """
    found = principal(request)
    if found.role is not Role.AGENT:
        return None
    return found.staff_no or ""  # an agent account without an agent owns nothing


def require_own_agent(request: web.Request, staff_no: str) -> None:
    """403 when an agent account acts on another agent than its own."""
    own = agent_scope(request)
    if own is not None and own != staff_no:
        raise ApiError(
            403,
            "not-own-agent",
            f"an agent account may act only as its own agent ({own or 'none'})",
            staff_no=staff_no,
        )


def token_authenticator(token: str | None) -> Authenticator:
    """`Authorization: Bearer <token>` for the CLI and automation: acts as admin."""

    async def authenticate(request: web.Request) -> Principal | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        offered = header[len("Bearer ") :].strip()
        if not token or not hmac.compare_digest(offered.encode(), token.encode()):
            raise ApiError(401, "bad-token", "the API token is not valid")
        return Principal(username="service", role=Role.ADMIN, via="token")

    return authenticate


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if getattr(request.match_info, "http_exception", None) is not None:
        return await handler(request)  # 404 / 405: no route, nothing to guard
    policies = request.app[ACCESS].policies if ACCESS in request.app else {}
    policy = policies.get(request.match_info.route)
    if policy is None:
        raise ApiError(403, "no-policy", "this route has no access policy", path=request.path)
    if policy.on_refused is None:
        return await _guarded(request, handler, policy)
    try:
        return await _guarded(request, handler, policy)
    except DomainError as exc:
        if exc.kind in REFUSALS:
            await _tell_refusal(policy.on_refused, request, exc)
        raise


async def _tell_refusal(hook: RefusalHook, request: web.Request, exc: DomainError) -> None:
    try:
        await hook(request, maybe_principal(request), exc)
    except Exception:
        log.exception("refusal hook failed for %s %s", request.method, request.path)


async def _guarded(
    request: web.Request, handler: Handler, policy: RoutePolicy
) -> web.StreamResponse:
    found = await request.app[ACCESS].authenticate(request)
    if found is not None:
        request[_PRINCIPAL] = found
    if policy.roles is not None:
        if found is None:
            if policy.page:
                raise web.HTTPFound("/login?next=" + urllib.parse.quote(request.path_qs, safe="/"))
            raise ApiError(401, "not-authenticated", "log in first")
        if not found.may(policy.roles):
            message = f"a {found.role.value} account may not do this"
            if policy.page:
                return refused_page(request, message)
            raise ApiError(
                403,
                "forbidden",
                message,
                role=found.role.value,
                allowed=sorted(r.value for r in policy.roles | {Role.ADMIN}),
            )
    if found is not None and policy.csrf:
        await _check_csrf(request, found)
    return await handler(request)


async def _check_csrf(request: web.Request, found: Principal) -> None:
    """Unsafe methods by a cookie session carry the session's token (header or form field)."""
    if not csrf.needs_token(request.method, found.via):
        return
    offered = request.headers.get(csrf.HEADER)
    if not offered and request.content_type in FORM_TYPES:
        value = (await form_data(request)).get(csrf.FORM_FIELD)  # cached for the handler
        offered = value if isinstance(value, str) else None
    verdict = csrf.check(request.method, found.via, request.get(CSRF_EXPECTED), offered)
    if not verdict.ok:
        raise ApiError(403, "csrf-failed", verdict.reason)
