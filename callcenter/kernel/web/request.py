"""Reading requests: a JSON object body and bounded integer query parameters."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter.kernel.web.errors import (
    ApiError,
)


async def json_object(request: web.Request, *, empty_ok: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 `bad-json` that says so."""
    if empty_ok and not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "bad-json", "the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad-json", "the request body must be a JSON object")
    return body


MAX_LIMIT = 500


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad-parameter", f"{name} must be an integer", got=raw) from None
    if not low <= value <= high:
        raise ApiError(400, "bad-parameter", f"{name} must be between {low} and {high}", got=value)
    return value
