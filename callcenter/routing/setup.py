"""The router in the app: the FastAGI server the dialplan asks, the AMI events that move
calls, a reconcile on every AMI connect, and app_queue kept in line with the agents."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.agents.keys import AGENTS, PROVISIONING
from callcenter.agi.fastagi import FastAgiServer
from callcenter.ami.client import AmiClient
from callcenter.config import Config
from callcenter.kernel.shifts import OpeningHours, parse_shifts
from callcenter.kernel.web.keys import AGI, AMI, CONFIG, SUPERVISOR
from callcenter.routing.decide import RouteSettings
from callcenter.routing.keys import ROUTER
from callcenter.routing.queue_projection import QueueProjection
from callcenter.routing.service import Router


def setup(app: web.Application, config: Config) -> None:
    app.cleanup_ctx.append(_routing)


async def _routing(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    client = app[AMI]
    agents = app[AGENTS]
    provisioning = app[PROVISIONING]
    router = Router(
        agents,
        RouteSettings(
            ring=config.ring,
            max_ring_per_agent=config.router.max_ring_per_agent,
            min_ring=config.router.min_ring,
        ),
        OpeningHours(parse_shifts(config.router.shifts), config.router.timezone),
        prompt_for=provisioning.prompts.playback,
        ami=client,
    )
    projection = QueueProjection(agents.board, client, app[SUPERVISOR])
    # Before anything awaits: no agent transition may miss app_queue.
    undo = [
        agents.watch(projection.on_transitions),
        agents.on_removed(router.on_agent_removed),
    ]
    server = FastAgiServer(config.router.agi_host, config.router.agi_port, router.handlers())
    await server.start()

    async def reconcile(ami: AmiClient) -> None:
        await provisioning.apply(list(agents.board.agents.values()))
        result = await ami.list_action("CoreShowChannels")
        await router.reconcile(
            [(e.get("Channel") or "", e.get("Linkedid") or "") for e in result.events]
        )

    undo += [client.subscribe(router.on_event), client.on_connected(reconcile)]
    app[ROUTER] = router
    app[AGI] = server
    try:
        yield
    finally:
        await server.close()
        for u in undo:
            u()
        await projection.close()
