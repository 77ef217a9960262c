"""Typed app and request keys that the panel feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.kernel.fanout import Broadcaster
from callcenter.panel.click_to_call import ClickToCall
from callcenter.panel.service import PanelService
from callcenter.panel.store import PanelRepository

PANEL = web.AppKey("panel", PanelService)

PANEL_BROADCAST = web.AppKey("panel_broadcast", Broadcaster)

PANEL_REPOSITORY = web.AppKey("panel_repository", PanelRepository)

CLICK_TO_CALL = web.AppKey("click_to_call", ClickToCall)
