"""Typed app and request keys that the qa feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.qa.runtime import QaState

QA = web.AppKey("qa", QaState)
