"""Typed app and request keys that the routing feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.routing.service import Router

ROUTER = web.AppKey("router", Router)
