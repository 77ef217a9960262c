"""Typed application state keys and the error middleware."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from callcenter.agi.fastagi import FastAgiServer
from callcenter.ami.client import AmiClient
from callcenter.asterisk.agent_provisioning import AgentProvisioning
from callcenter.callbacks.dialler import Dialler
from callcenter.callbacks.schedule import SchedulerSettings
from callcenter.callbacks.sources import CallbackSources
from callcenter.callbacks.survey import Surveys
from callcenter.calllog.service import CallLogService
from callcenter.compliance.facts import ComplianceSink
from callcenter.config import Config
from callcenter.dashboard.service import DashboardService
from callcenter.ops.metrics import CallMetrics, FanOut
from callcenter.persistence.agents_repository import AgentRepository
from callcenter.persistence.callbacks_repository import CallbackRepository
from callcenter.persistence.repository import CallRepository
from callcenter.persistence.writer import CallWriter
from callcenter.routing.service import Router
from callcenter.supervisor import TaskSupervisor

log = logging.getLogger(__name__)

CONFIG = web.AppKey("config", Config)
REPOSITORY = web.AppKey("repository", CallRepository)
WRITER = web.AppKey("writer", CallWriter)
AMI = web.AppKey("ami", AmiClient)
CALLLOG = web.AppKey("calllog", CallLogService)
SUPERVISOR = web.AppKey("supervisor", TaskSupervisor)
METRICS = web.AppKey("metrics", CallMetrics)
ROUTER = web.AppKey("router", Router)
AGENT_REPOSITORY = web.AppKey("agent_repository", AgentRepository)
AGI = web.AppKey("agi", FastAgiServer)
PROVISIONING = web.AppKey("provisioning", AgentProvisioning)
CALLBACKS = web.AppKey("callbacks", CallbackRepository)
SCHEDULE = web.AppKey("schedule", SchedulerSettings)
DIALLER = web.AppKey("dialler", Dialler)
SURVEYS = web.AppKey("surveys", Surveys)
SOURCES = web.AppKey("sources", CallbackSources)
# Where finished call records go: the writer and the metrics.
RECORD_SINK = web.AppKey("record_sink", FanOut)
# Per-call compliance facts (dead air, hung up first): listeners may attach.
COMPLIANCE = web.AppKey("compliance", ComplianceSink)
# The live supervisor dashboard (in-memory model + WebSocket broadcast).
DASHBOARD = web.AppKey("dashboard", DashboardService)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """A request the API refuses; `error_id` is stable, `details` says what to fix."""

    def __init__(self, status: int, error_id: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.details = details


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
