"""The broadcaster: bounded per-client queues, a stalled client is dropped, never waited for."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from callcenter.kernel.fanout import (
    CLIENT_GONE,
    SHUTDOWN,
    SLOW_CLIENT,
    Broadcaster,
    SubscriptionClosed,
)
from callcenter.kernel.web.websocket import serve_websocket


async def test_stalled_subscriber_is_dropped_others_get_everything() -> None:
    hub = Broadcaster(maxsize=8)
    readers = [hub.subscribe(label=f"c{i}") for i in range(50)]
    stalled = hub.subscribe(label="stalled")
    received: list[list[str]] = [[] for _ in readers]

    async def read(i: int) -> None:
        async for message in readers[i]:
            received[i].append(str(message))

    tasks = [asyncio.create_task(read(i)) for i in range(len(readers))]
    for n in range(200):
        delivered = hub.publish(f"m{n}")
        assert delivered >= len(readers)  # never short of a live reader
        if n % 4 == 3:
            await asyncio.sleep(0)  # readers run between bursts shorter than the bound
    await asyncio.sleep(0)
    assert stalled.closed and stalled.close_reason == SLOW_CLIENT
    assert hub.dropped == 1
    assert hub.subscribers == len(readers)
    with pytest.raises(SubscriptionClosed) as info:
        await stalled.get()
    assert info.value.reason == SLOW_CLIENT
    hub.close_all()
    await asyncio.gather(*tasks)
    for got in received:
        assert got == [f"m{n}" for n in range(200)]
    assert hub.closed[SHUTDOWN] == len(readers)


async def test_drop_happens_exactly_when_the_bound_is_exceeded() -> None:
    hub = Broadcaster(maxsize=3)
    sub = hub.subscribe()
    for n in range(3):
        assert hub.publish(str(n)) == 1
    assert not sub.closed and sub.pending == 3
    assert hub.publish("overflow") == 0
    assert sub.closed and hub.dropped == 1


async def test_publish_never_awaits() -> None:
    hub = Broadcaster(maxsize=2)
    hub.subscribe()
    # publish is a plain function: it cannot suspend on a slow client
    assert not asyncio.iscoroutinefunction(hub.publish)
    for n in range(100):
        hub.publish(str(n))
    assert hub.dropped == 1 and hub.subscribers == 0


async def test_topics_route_messages() -> None:
    hub = Broadcaster()
    agent_1001 = hub.subscribe({"agent:1001"})
    agent_1002 = hub.subscribe("agent:1002")
    both = hub.subscribe(["agent:1001", "agent:1002"])
    everything = hub.subscribe()
    assert hub.publish("pop-1001", topic="agent:1001") == 3
    assert hub.publish("pop-1003", topic="agent:1003") == 1
    assert hub.publish("all") == 4
    assert [agent_1001.drain(), agent_1002.drain()] == [
        ["pop-1001", "all"],
        ["all"],
    ]
    assert both.drain() == ["pop-1001", "all"]
    assert everything.drain() == ["pop-1001", "pop-1003", "all"]
    agent_1001.close()
    assert hub.publish("again", topic="agent:1001") == 2
    assert hub.closed["closed"] == 1 and hub.dropped == 0


async def test_close_wakes_a_waiting_reader() -> None:
    hub = Broadcaster()
    sub = hub.subscribe()
    waiting = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    reasons: list[str] = []
    sub.on_close(reasons.append)
    sub.close("bye")
    with pytest.raises(SubscriptionClosed):
        await waiting
    assert reasons == ["bye"]


# --- over real WebSockets (in-process aiohttp server, real TCP on loopback) ---


def _app(hub: Broadcaster, maxsize: int) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await serve_websocket(
            request, hub, initial=lambda: "snapshot", maxsize=maxsize, heartbeat=None
        )

    app = web.Application()
    app.router.add_get("/ws", handler)
    return app


def _stalled_client(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock


async def test_websocket_clients_keep_receiving_while_one_stalls() -> None:
    hub = Broadcaster()
    server = TestServer(_app(hub, maxsize=16))
    await server.start_server()
    assert server.port is not None
    stalled = _stalled_client(server.port)
    payload = "x" * 8000
    count = 400
    clients = 20
    latencies: list[float] = []
    got = [0] * clients
    try:
        async with aiohttp.ClientSession() as session:
            sockets = [await session.ws_connect(server.make_url("/ws")) for _ in range(clients)]
            for ws in sockets:
                assert (await ws.receive_str(timeout=5)) == "snapshot"
            await _until(lambda: hub.subscribers >= clients + 1, 10)

            async def read(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
                while got[i] < count:
                    text = await ws.receive_str(timeout=10)
                    sent = float(text.split("|", 1)[0])
                    latencies.append(time.monotonic() - sent)
                    got[i] += 1

            readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
            for _ in range(count):
                hub.publish(f"{time.monotonic()}|{payload}")
                await asyncio.sleep(0.002)
            await asyncio.wait_for(asyncio.gather(*readers), 30)
            assert got == [count] * clients
            assert hub.dropped == 1  # the stalled client, and only it
            assert max(latencies) < 2.0
            for ws in sockets:
                await ws.close()
            await _until(lambda: hub.subscribers == 0, 5)
            assert hub.closed[CLIENT_GONE] == clients
    finally:
        stalled.close()
        await server.close()


async def _until(check: Callable[[], bool], within: float) -> None:
    """Poll `check` every 10 ms until it holds or `within` seconds pass."""
    for _ in range(int(within * 100)):
        if check():
            return
        await asyncio.sleep(0.01)
