"""The agent panel in the app: screen pops from the AMI stream, live agent states pushed to
each agent's panel, click-to-call, and the panel routes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Final

from aiohttp import web

from callcenter.agents.domain import agent_status_json
from callcenter.agents.keys import AGENTS
from callcenter.config import Config
from callcenter.kernel.fanout import Broadcaster
from callcenter.kernel.web.keys import AMI, CONFIG, SESSIONS, SUPERVISOR
from callcenter.panel.click_to_call import ClickToCall, Placed
from callcenter.panel.http import setup_panel_routes
from callcenter.panel.keys import CLICK_TO_CALL, PANEL, PANEL_BROADCAST, PANEL_REPOSITORY
from callcenter.panel.service import PanelService, topic
from callcenter.panel.store import PanelRepository

log = logging.getLogger(__name__)

STATE_POLL: Final = 0.25  # seconds between looks at the board for state changes


def setup(app: web.Application, config: Config) -> None:
    app.cleanup_ctx.append(panel_context)
    setup_panel_routes(app)


async def panel_context(app: web.Application) -> AsyncIterator[None]:
    """Screen pops from the AMI stream, live agent states, click-to-call (after routing)."""
    agents = app[AGENTS]
    broadcaster = Broadcaster(name="panel")
    repository = PanelRepository(app[SESSIONS])

    service = PanelService(repository, broadcaster.publish, agents.staff_of, app[SUPERVISOR].spawn)

    def call_failed(placed: Placed, why: str) -> None:
        message = {"type": "call-failed", "number": placed.number, "reason": why}
        broadcaster.publish(json.dumps(message), topic(placed.staff_no))

    dialer = ClickToCall(
        agents,
        app[AMI],
        agent_ring_seconds=app[CONFIG].callbacks.agent_ring_seconds,
        notify=call_failed,
    )
    undo = [app[AMI].subscribe(service.on_event), app[AMI].subscribe(dialer.on_event)]
    watcher = app[SUPERVISOR].spawn("panel-states", _watch_states(app, broadcaster))
    app[PANEL] = service
    app[PANEL_BROADCAST] = broadcaster
    app[PANEL_REPOSITORY] = repository
    app[CLICK_TO_CALL] = dialer
    try:
        yield
    finally:
        await app[SUPERVISOR].cancel([watcher])
        for u in undo:
            u()
        broadcaster.close_all()


async def _watch_states(app: web.Application, broadcaster: Broadcaster) -> None:
    """Push each agent's state to their panel when it changes (the board is in memory:
    looking costs nothing, and no hook is needed)."""
    board = app[AGENTS].board
    seen: dict[str, tuple[Any, ...]] = {}
    while True:
        for staff_no, status in list(board.status.items()):
            agent = board.agents.get(staff_no)
            if agent is None:
                continue
            mark = (
                status.state,
                status.since,
                status.pause_reason,
                status.pending_pause,
                status.call,
            )
            if seen.get(staff_no) != mark:
                seen[staff_no] = mark
                message = {"type": "state", "agent": agent_status_json(agent, status)}
                broadcaster.publish(json.dumps(message, ensure_ascii=False), topic(staff_no))
        await asyncio.sleep(STATE_POLL)
