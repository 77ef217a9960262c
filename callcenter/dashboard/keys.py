"""Typed app and request keys that the dashboard feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.dashboard.service import DashboardService

# The live supervisor dashboard (in-memory model + WebSocket broadcast).
DASHBOARD = web.AppKey("dashboard", DashboardService)
