"""The API's error shape: `ApiError` and the middleware that answers it as JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware


class ApiError(Exception):
    """A request the API refuses; `error_id` is stable, `details` says what to fix."""

    def __init__(self, status: int, error_id: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.details = details


def error_body(error_id: str, message: str, details: dict[str, object]) -> str:
    return json.dumps({"error_id": error_id, "message": message, "details": details})


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(
            {"error_id": exc.error_id, "message": exc.message, "details": exc.details},
            status=exc.status,
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

