"""Who may call what: one table of route policies, enforced by one middleware.

Every route is registered through `route()` with the roles it admits (or
`PUBLIC`). A route registered any other way has no policy and is refused
(fail closed), so a forgotten check is a 403 in the tests, not a leak. The
same table feeds the OpenAPI description and the access-control tests.

Authentication is pluggable: authenticators (service token, session cookie)
are tried in order; the first that recognises the request wins.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from aiohttp import web
from aiohttp.typedefs import Handler

from callcenter.accounts.roles import Principal, Role
from callcenter.web.keys import ApiError

PUBLIC: Final = "public"

Authenticator = Callable[[web.Request], Awaitable[Principal | None]]


@dataclass(frozen=True)
class RoutePolicy:
    method: str
    path: str
    roles: frozenset[Role] | None  # None: public
    summary: str
    page: bool = False  # an HTML page: anonymous users are sent to the login page
    tag: str = "api"


@dataclass
class AccessTable:
    policies: dict[web.AbstractRoute, RoutePolicy] = field(default_factory=dict)
    authenticators: list[Authenticator] = field(default_factory=list)

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
) -> None:
    """Register a route together with who may call it."""
    registered = app.router.add_route(method, path, handler)
    granted = None if roles == PUBLIC else frozenset(roles)
    table(app).policies[registered] = RoutePolicy(
        method.upper(), path, granted, summary, page=page, tag=tag
    )


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
    found = await request.app[ACCESS].authenticate(request)
    if found is not None:
        request[_PRINCIPAL] = found
    if policy.roles is None:
        return await handler(request)
    if found is None:
        if policy.page:
            raise web.HTTPFound(f"/login?next={request.path_qs}")
        raise ApiError(401, "not-authenticated", "log in first")
    if not found.may(policy.roles):
        raise ApiError(
            403,
            "forbidden",
            f"a {found.role.value} account may not do this",
            role=found.role.value,
            allowed=sorted(r.value for r in policy.roles | {Role.ADMIN}),
        )
    return await handler(request)
