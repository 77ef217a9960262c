"""Typed app and request keys that the callbacks feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.callbacks.dialer import Dialer
from callcenter.callbacks.requests import SchedulerSettings
from callcenter.callbacks.store import CallbackRepository
from callcenter.callbacks.survey import Surveys

CALLBACKS = web.AppKey("callbacks", CallbackRepository)

SCHEDULE = web.AppKey("schedule", SchedulerSettings)

DIALER = web.AppKey("dialer", Dialer)

SURVEYS = web.AppKey("surveys", Surveys)
