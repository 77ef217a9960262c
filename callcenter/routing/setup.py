"""The router in the app: the FastAGI server the dialplan asks, the AMI events that move
calls, a reconcile on every AMI connect, and app_queue kept in line with the agents."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.agents.keys import AGENTS, PROVISIONING
from callcenter.agi.fastagi import FastAgiServer
from callcenter.agi.metrics import FastAgiCollector
from callcenter.ami.client import AmiClient
from callcenter.config import Config
from callcenter.kernel.shifts import OpeningHours, parse_shifts
from callcenter.kernel.web.keys import AGI, AMI, CONFIG, SUPERVISOR
from callcenter.ops.keys import METRICS
from callcenter.routing.decide import RouteSettings
from callcenter.routing.keys import ROUTER
from callcenter.routing.push import Pusher
from callcenter.routing.queue_projection import QueueProjection
from callcenter.routing.service import Router, live_channels


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
    pusher = Pusher(router, client)
    # Before anything awaits: no agent transition may miss app_queue.
    undo = [
        agents.watch(projection.on_transitions),
        agents.watch(pusher.on_transitions),
        agents.watch(router.on_transitions),
        agents.on_removed(router.on_agent_removed),
    ]
    server = FastAgiServer(
        config.router.agi_host, config.router.agi_port, router.handlers(), key=config.router.agi_key
    )
    await server.start()
    collector = FastAgiCollector(server)
    app[METRICS].registry.register(collector)

    async def reconcile(ami: AmiClient) -> None:
        """On every AMI connect (the first one too): agents against Asterisk's live
        channels and its endpoints' registrations (PJSIPShowEndpoints: on 22.10.1
        DeviceStateList lists no PJSIP devices)."""
        await provisioning.apply(list(agents.board.agents.values()))
        asked_at = time.time()
        unregistered = await provisioning.unregistered()
        result = await ami.list_action("CoreShowChannels")
        await router.reconcile(live_channels(result.events), unregistered, asked_at)

    undo += [client.subscribe(router.on_event), client.on_connected(reconcile)]
    app[ROUTER] = router
    app[AGI] = server
    push_task = app[SUPERVISOR].spawn("router-push", pusher.run())
    tasks = [push_task]
    if client.connected:
        # Connected before this hook was added: its first run would be missed, and the
        # states restored from the database would wait for the next reconnect.
        tasks.append(app[SUPERVISOR].spawn("router-first-reconcile", reconcile(client)))
    try:
        yield
    finally:
        await app[SUPERVISOR].cancel(tasks)
        app[METRICS].registry.unregister(collector)
        await server.close()
        for u in undo:
            u()
        await projection.close()
