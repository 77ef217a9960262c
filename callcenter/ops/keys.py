"""Typed app and request keys that the ops feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.ops.metrics import CallMetrics

METRICS = web.AppKey("metrics", CallMetrics)
