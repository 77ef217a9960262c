"""The live dashboard on the real stack: a real call seen over the WebSocket, ChanSpy,
and the fan-out with many real WebSocket clients, one of them stalled."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from callcenter.dashboard.keys import DASHBOARD
from tests.support.asterisk_fixtures import AUTH_HEADERS, PhonePool, TestAsterisk
from tests.support.routed import RoutedApp

pytestmark = pytest.mark.asterisk


class DashboardFeed:
    """A WebSocket client of /ws/dashboard that keeps every snapshot it receives."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.snapshots: list[dict[str, Any]] = []
        self.arrived: list[float] = []
        self._new = asyncio.Condition()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                async with self._new:
                    self.snapshots.append(json.loads(msg.data))
                    self.arrived.append(time.monotonic())
                    self._new.notify_all()

    async def wait(
        self, check: Callable[[dict[str, Any]], bool], within: float = 20.0
    ) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            async with self._new:
                while True:
                    for snap in self.snapshots:
                        if check(snap):
                            return snap
                    await self._new.wait()

        try:
            return await asyncio.wait_for(find(), within)
        except TimeoutError:
            last = self.snapshots[-1] if self.snapshots else None
            raise AssertionError(f"no snapshot matched within {within} s; last: {last}") from None

    async def close(self) -> None:
        await self.ws.close()
        self._task.cancel()


async def _feed(app: RoutedApp, session: aiohttp.ClientSession) -> DashboardFeed:
    ws = await session.ws_connect(app.client.make_url("/ws/dashboard"), headers=AUTH_HEADERS)
    return DashboardFeed(ws)


def _ours(app: RoutedApp) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """Calls in a snapshot that arrived after this app started (not earlier tests')."""
    return lambda snap: [
        c for c in snap["waiting_calls"] + snap["active_calls"] if c["arrived_at"] >= app.started_at
    ]


async def test_a_real_call_is_waiting_then_on_call_then_in_the_totals(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app: RoutedApp = await routed(wrap_up_seconds=5.0)
    agent = await softphones("1001", auto_answer=False)
    await app.agent("1001")
    caller = await softphones("2001")
    before = (await app.api("GET", "/api/dashboard"))["center"]["windows"]["24h"]["counts"]
    ours = _ours(app)
    async with aiohttp.ClientSession() as session:
        feed = await _feed(app, session)
        first = await feed.wait(lambda s: True, 5)
        assert first["type"] == "snapshot" and "definitions" in first
        await caller.dial(asterisk.config.asterisk.inbound_number)
        waiting = await feed.wait(lambda s: any(c["state"] != "talking" for c in ours(s)))
        (call,) = ours(waiting)
        assert call["caller_number"] == "2001" and call["queue"] == "support"
        await agent.wait_event("CALL_INCOMING", 10)
        ringing = await feed.wait(
            lambda s: any(a["staff_no"] == "1001" and a["state"] == "ringing" for a in s["agents"])
        )
        assert ringing["queues"][0]["agents"]["ringing"] >= 1 or any(
            q["agents"]["ringing"] for q in ringing["queues"]
        )
        await asyncio.sleep(2.0)
        await agent.answer()
        talking = await feed.wait(lambda s: any(c["state"] == "talking" for c in ours(s)))
        (active,) = [c for c in ours(talking) if c["state"] == "talking"]
        assert active["linkedid"] == call["linkedid"] and active["agent"] == "1001"
        # the router's board follows a moment later (its FastAGI `connected` runs after
        # the dialplan's AgentConnected event): the next update has it
        await feed.wait(
            lambda s: any(a["staff_no"] == "1001" and a["state"] == "on_call" for a in s["agents"])
        )
        await asyncio.sleep(1.0)
        await caller.hangup()
        done = await feed.wait(
            lambda s: s["center"]["windows"]["24h"]["counts"]["handled"] > before["handled"]
        )
        day = done["center"]["windows"]["24h"]["counts"]
        assert day["offered"] == before["offered"] + 1
        assert day["within_budget"] == before["within_budget"] + 1  # answered on ring 1
        me = next(a for a in done["agents"] if a["staff_no"] == "1001")
        assert me["handled"] >= 1 and me["aht"] is not None
        assert not ours(done)
        # the wrap-up ends (5 s limit): its length joins the call's handle time
        wrapped = await feed.wait(
            lambda s: s["center"]["windows"]["24h"]["counts"]["wrap_count"] > before["wrap_count"]
        )
        assert wrapped["center"]["windows"]["24h"]["counts"]["wrap_sum"] >= before["wrap_sum"] + 4
        seqs = [s.get("seq", 0) for s in feed.snapshots[1:]]
        assert seqs == sorted(seqs)
        await feed.close()
    snapshot = await app.api("GET", "/api/dashboard")
    assert snapshot["center"]["windows"]["24h"]["counts"]["handled"] == before["handled"] + 1
    hours = snapshot["hourly"]
    assert len(hours) == 24 and sum(h["offered"] for h in hours) >= 1


async def test_supervisor_listens_in_while_the_call_goes_on(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any
) -> None:
    app: RoutedApp = await routed()
    await softphones("1001")
    await app.agent("1001")
    supervisor_phone = await softphones("1004")
    caller = await softphones("2001")
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 15)
    await app.wait_state("1001", "on_call", 10)
    refused = await app.api(
        "POST", "/api/dashboard/agents/1001/listen", 400, endpoint="not a phone!"
    )
    assert refused["error_id"] == "endpoint-required"
    idle = await app.api("POST", "/api/dashboard/agents/1002/listen", 404, endpoint="1004")
    assert idle["error_id"] == "unknown-agent"
    started = await app.api("POST", "/api/dashboard/agents/1001/listen", endpoint="1004")
    assert started["channel"].startswith("PJSIP/1001-")
    await supervisor_phone.wait_event("CALL_ESTABLISHED", 15)
    # listening does not disturb the call: still up on both sides, the agent still on it
    await asyncio.sleep(2.0)
    assert not [e for e in caller.events if e.get("type") == "CALL_CLOSED"]
    assert (await app.state("1001"))["state"] == "on_call"
    async with asterisk.ami() as ami:
        channels = [
            e.get("Channel") or ""
            for e in await ami.list_action("CoreShowChannels")
            if e.get("Event") == "CoreShowChannel"
        ]
        assert any(c.startswith("PJSIP/1004-") for c in channels)
        spying = [
            e
            for e in await ami.list_action("CoreShowChannels")
            if (e.get("Channel") or "").startswith("PJSIP/1004-")
        ]
        assert spying and spying[0].get("Application") == "ChanSpy"
    await caller.hangup()
    # ChanSpy's E option: the supervisor's call ends with the agent's
    await supervisor_phone.wait_event("CALL_CLOSED", 15)
    after = await app.api("POST", "/api/dashboard/agents/1001/listen", 409, endpoint="1004")
    assert after["error_id"] == "agent-not-on-call"


async def test_pause_and_logout_from_the_dashboard(softphones: PhonePool, routed: Any) -> None:
    app: RoutedApp = await routed()
    await softphones("1003")
    await app.agent("1003")
    missing = await app.api("POST", "/api/dashboard/agents/1003/pause", 400)
    assert missing["error_id"] == "pause-reason-missing" and "meal" in missing["details"]["reasons"]
    paused = await app.api("POST", "/api/dashboard/agents/1003/pause", reason="meal")
    assert (paused["state"], paused["pause_reason"]) == ("paused", "meal")
    snapshot = await app.api("GET", "/api/dashboard")
    support = next(q for q in snapshot["queues"] if q["queue"] == "support")
    assert support["agents"]["paused"].get("meal", 0) >= 1
    out = await app.api("POST", "/api/dashboard/agents/1003/logout")
    assert out["state"] == "logged_out"
    assert (await app.state("1003"))["state"] == "logged_out"


def _stalled_client(port: int) -> socket.socket:
    """Completes the WebSocket handshake, then never reads a byte."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    token = AUTH_HEADERS["Authorization"]
    sock.sendall(
        (
            "GET /ws/dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: {token}\r\n\r\n"
        ).encode()
    )
    return sock


async def test_fifty_websocket_clients_keep_receiving_while_one_stalls(routed: Any) -> None:
    app: RoutedApp = await routed()
    service = app.app[DASHBOARD]
    hub = service.broadcaster
    port = app.client.server.port
    assert port is not None
    stalled = _stalled_client(port)
    clients = 50
    updates = 400
    try:
        async with aiohttp.ClientSession() as session:
            feeds = [await _feed(app, session) for _ in range(clients)]
            await _until(lambda: hub.subscribers >= clients + 1, 10)
            assert hub.subscribers == clients + 1
            start_seq = service.seq
            sent_at: dict[int, float] = {}
            # Real snapshots through the real broadcaster, faster than the stalled client's
            # socket can absorb (each is several kilobytes), at 200 updates a second.
            for _ in range(updates):
                sent_at[service.seq + 1] = time.monotonic()
                service.flush()
                await asyncio.sleep(0.005)
            last = service.seq

            def caught_up(snap: dict[str, Any]) -> bool:
                return bool(int(snap.get("seq", -1)) >= last)

            for feed in feeds:
                await feed.wait(caught_up, 20)
            assert hub.dropped == 1, (hub.stats(), service.stats)  # the stalled one, only it
            assert hub.subscribers == clients
            lags: list[float] = []
            for feed in feeds:
                seqs = [int(s["seq"]) for s in feed.snapshots[1:]]
                # every update after the first snapshot, none lost, in order
                assert seqs == list(range(seqs[0], last + 1)), seqs[:5]
                assert seqs[0] <= start_seq + 1
                for snap, arrived in zip(feed.snapshots[1:], feed.arrived[1:], strict=True):
                    if snap["seq"] in sent_at:
                        lags.append(arrived - sent_at[snap["seq"]])
            lags.sort()
            assert lags[len(lags) // 2] < 0.5 and lags[-1] < 3.0, (lags[len(lags) // 2], lags[-1])
            for feed in feeds:
                await feed.close()
    finally:
        stalled.close()


async def _until(check: Callable[[], bool], within: float) -> None:
    """Poll `check` every 10 ms until it holds or `within` seconds pass."""
    for _ in range(int(within * 100)):
        if check():
            return
        await asyncio.sleep(0.01)
