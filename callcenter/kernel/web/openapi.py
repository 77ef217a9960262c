"""The OpenAPI 3.1 description, built from the access table (so it cannot drift from it).

Each operation has its summary, tag, the roles that may call it (`x-roles`;
admin always may), the security schemes that apply and the path parameters
parsed from `{name}` / `{name:regex}`. Request bodies are described as a JSON
object and responses not at all: the handlers validate each field and answer
with `{error_id, message, details}` on every refusal, which the `Error` schema
does describe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from callcenter.kernel.roles import EVERYONE, Role
from callcenter.kernel.web import access, rows
from callcenter.kernel.web.access import RoutePolicy
from callcenter.kernel.web.csrf import HEADER, SAFE_METHODS

OPENAPI_VERSION = "3.1.0"
# `{name}` or `{name:regex}`; the regex may hold `{m,n}` quantifiers.
PATH_PARAMETER = re.compile(
    r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<regex>(?:[^{}]|\{[^{}]*\})+))?\}"
)
_ERROR_REF = {"$ref": "#/components/responses/Error"}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_ROW_ID = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}


def parse_path(path: str) -> tuple[str, list[dict[str, Any]]]:
    """`/api/agents/{staff_no}/{action:login|logout}` -> (`/api/agents/{staff_no}/{action}`,
    the path parameters with a `pattern` for the regex ones)."""
    parameters: list[dict[str, Any]] = []

    def plain(match: re.Match[str]) -> str:
        schema: dict[str, Any] = {"type": "string"}
        if match.group("regex"):
            schema["pattern"] = f"^(?:{match.group('regex')})$"
        elif match.group("name").endswith("_id"):
            schema = dict(_ROW_ID)  # a row id (`{sample_id}`): what request.id_param accepts
        parameters.append(
            {"name": match.group("name"), "in": "path", "required": True, "schema": schema}
        )
        return "{" + match.group("name") + "}"

    return PATH_PARAMETER.sub(plain, path), parameters


def _roles(policy: RoutePolicy) -> list[str]:
    if policy.roles is None:
        return ["public"]
    return sorted(r.value for r in policy.roles | {Role.ADMIN})


def _security(policy: RoutePolicy) -> list[dict[str, list[str]]]:
    if policy.roles is None:
        return []
    cookie: dict[str, list[str]] = {"sessionCookie": []}
    if policy.method not in SAFE_METHODS and policy.csrf:
        cookie["csrfToken"] = []
    return [cookie, {"serviceToken": []}]


def _operation(policy: RoutePolicy, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "success"}, "400": _ERROR_REF}
    if policy.page:
        responses["200"] = {"description": "an HTML page", "content": {"text/html": {}}}
        if policy.roles is not None:
            responses["302"] = {"description": "not logged in: to the login page"}
    if policy.roles is not None:
        responses["401"] = _ERROR_REF
        responses["403"] = _ERROR_REF
    elif policy.method not in SAFE_METHODS and policy.csrf:
        responses["403"] = _ERROR_REF  # csrf-failed, with a session cookie
    operation: dict[str, Any] = {
        "summary": policy.summary,
        "tags": [policy.tag],
        "operationId": _operation_id(policy),
        "x-roles": _roles(policy),
        "security": _security(policy),
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if policy.method in _BODY_METHODS:
        operation["requestBody"] = _request_body(policy)
    if policy.page:
        operation["x-page"] = True
    if policy.rows is not None:  # which rows each role gets (callcenter.kernel.web.rows)
        operation["x-rows"] = rows.rule(policy.rows).to_json()
    return operation


def _request_body(policy: RoutePolicy) -> dict[str, Any]:
    """A JSON object (its fields are the handler's to check); routes that check their own
    form token (the login form) take the HTML forms' encodings as well."""
    content: dict[str, Any] = {"application/json": {"schema": {"type": "object"}}}
    if not policy.csrf:
        form = {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
        content["application/x-www-form-urlencoded"] = form
        content["multipart/form-data"] = form
    return {"required": False, "content": content}


def _operation_id(policy: RoutePolicy) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", parse_path(policy.path)[0]).strip("_")
    return f"{policy.method.lower()}_{words or 'root'}"


def build(
    policies: Iterable[RoutePolicy], *, title: str, version: str, cookie: str = "cc_session"
) -> dict[str, Any]:
    """The whole document; pure (the handler passes the app's table)."""
    paths: dict[str, dict[str, Any]] = {}
    tags: set[str] = set()
    for policy in sorted(policies, key=lambda p: (p.path, p.method)):
        path, parameters = parse_path(policy.path)
        paths.setdefault(path, {})[policy.method.lower()] = _operation(policy, parameters)
        tags.add(policy.tag)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Every operation lists the roles that may call it in `x-roles` (admin always"
                " may). Browsers authenticate with the session cookie and send the CSRF token"
                f" from GET /api/me in `{HEADER}` on POST/PUT/PATCH/DELETE; scripts use the"
                " service token as `Authorization: Bearer`."
            ),
        },
        "tags": [{"name": t} for t in sorted(tags)],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": cookie,
                    "description": "set by POST /login",
                },
                "csrfToken": {"type": "apiKey", "in": "header", "name": HEADER},
                "serviceToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "CALLCENTER_API_TOKEN or the state dir's api-token: admin",
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error_id", "message", "details"],
                    "properties": {
                        "error_id": {"type": "string", "examples": ["forbidden"]},
                        "message": {"type": "string"},
                        "details": {"type": "object"},
                    },
                }
            },
            "responses": {
                "Error": {
                    "description": "refused, with a stable error_id and a message",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }


async def openapi(request: web.Request) -> web.Response:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("callcenter")
    except PackageNotFoundError:
        release = "0"
    table = access.table(request.app)
    cookie = table.session_cookie or "cc_session"
    document = build(table.all(), title="callcenter", version=release, cookie=cookie)
    return web.json_response(document)


def setup_openapi_routes(app: web.Application) -> None:
    access.route(
        app,
        "GET",
        "/api/openapi.json",
        openapi,
        roles=EVERYONE,
        summary="this description of the HTTP API (OpenAPI 3.1)",
        tag="meta",
    )
