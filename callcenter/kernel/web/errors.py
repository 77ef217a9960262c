"""The API's error shape, `{"error_id", "message", "details"}`, and the one middleware that
answers every `DomainError` with it; the HTTP status comes from the error's kind (`STATUS`).

Anything else a handler raises is a bug, not an answer: the middleware logs it with its
traceback and sends a 500 `internal-error` in the same shape, never the traceback itself."""

from __future__ import annotations

import json
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
# The one answer to a failure nobody foresaw (logged with its traceback, never sent).
INTERNAL_ERROR: Final = "internal-error"


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
    where = _nul_in(request)
    if where is not None:
        # No text we keep may hold a NUL (PostgreSQL refuses it, so would a log line):
        # refused here, before any handler or query sees it.
        return error_response(
            "bad-text", f"the request's {where} holds a NUL character", {"in": where}, status=400
        )
    try:
        return await handler(request)
    except DomainError as exc:
        return error_response(exc.error_id, exc.message, exc.details, status=http_status(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(f"http-{exc.status}", exc.reason, {}, status=exc.status)
    except OSError as exc:
        if not _is_static(request):
            return _internal_error(request, exc)
        # A file name the file system refuses (over 255 bytes, say) names no file we serve.
        return error_response("http-404", "Not Found", {}, status=404)
    except Exception as exc:  # the catch-all: every other failure is a logged 500
        return _internal_error(request, exc)


def error_response(
    error_id: str, message: str, details: Mapping[str, object], *, status: int
) -> web.Response:
    body = {"error_id": error_id, "message": message, "details": dict(details)}
    return web.json_response(body, status=status, dumps=_dumps)


def _dumps(value: object) -> str:
    # A detail that is no JSON value (bytes, a date) is sent as its text, not a second failure.
    return json.dumps(value, default=str)


def _internal_error(request: web.Request, exc: Exception) -> web.Response:
    """Log the failure with its traceback; the client gets the error shape and no internals."""
    if request.writer is not None and request.writer.output_size > 0:
        # The response has begun (a stream, a WebSocket): a 500 can no longer be sent.
        raise exc
    log.error(
        "internal error answering %s %s: %s",
        request.method,
        request.rel_url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return error_response(
        INTERNAL_ERROR, "an unexpected error happened; it has been logged", {}, status=500
    )


def _nul_in(request: web.Request) -> str | None:
    """Which part of the request (path, query, cookie) holds a NUL, or None."""
    if "\x00" in request.path:
        return "path"
    query = request.query
    if any("\x00" in key or "\x00" in value for key, value in query.items()):
        return "query"
    if any("\x00" in value for value in request.cookies.values()):
        return "cookie"
    return None


def _is_static(request: web.Request) -> bool:
    route = request.match_info.route
    return isinstance(route.resource, web.StaticResource)


def middlewares() -> list[Middleware]:
    return [error_middleware]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


log = logging.getLogger(__name__)
