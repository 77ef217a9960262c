"""Typed app and request keys that the calls feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.calls.scope import CallScope
from callcenter.calls.service import CallLogService
from callcenter.calls.sink import FanOut
from callcenter.calls.store import CallRepository
from callcenter.calls.writer import CallWriter

REPOSITORY = web.AppKey("repository", CallRepository)

WRITER = web.AppKey("writer", CallWriter)

CALLLOG = web.AppKey("calllog", CallLogService)

# Which calls a reader may see (agents: own; inspectors: assigned, set by QA's setup).
CALL_SCOPE = web.AppKey("call_scope", CallScope)

# Where finished call records go: the writer first, then every feature that reads them.
RECORD_SINK = web.AppKey("record_sink", FanOut)
