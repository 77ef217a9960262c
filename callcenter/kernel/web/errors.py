"""The API's error shape, `{"error_id", "message", "details"}`, and the one middleware that
answers every `DomainError` with it; the HTTP status comes from the error's kind (`STATUS`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Middleware

from callcenter.kernel.errors import DomainError, Kind

STATUS: Final[Mapping[Kind, int]] = {
    Kind.INVALID: 400,
    Kind.UNAUTHENTICATED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.GONE: 410,
    Kind.THROTTLED: 429,
    Kind.UPSTREAM_FAILED: 502,
    Kind.UNAVAILABLE: 503,
}
_KIND_OF_STATUS: Final = {status: kind for kind, status in STATUS.items()}


class ApiError(DomainError):
    """A refusal of the web layer itself (a bad parameter, no session), with its status."""

    def __init__(self, status: int, error_id: str, message: str, /, **details: object) -> None:
        super().__init__(error_id, message, **details)
        self.status = status
        self.kind = _KIND_OF_STATUS.get(status, Kind.INVALID)


def http_status(exc: DomainError) -> int:
    return exc.status if isinstance(exc, ApiError) else STATUS[exc.kind]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as exc:
        return web.json_response(
            {"error_id": exc.error_id, "message": exc.message, "details": exc.details},
            status=http_status(exc),
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response(
            {"error_id": f"http-{exc.status}", "message": exc.reason, "details": {}},
            status=exc.status,
        )


def middlewares() -> list[Middleware]:
    return [error_middleware]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


log = logging.getLogger(__name__)
