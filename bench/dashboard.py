"""Dashboard event-to-client latency with many WebSocket clients, beside the pipeline's own cost.

Three processes, so nobody's timing hides another's queueing:
  ami      a fake AMI server (callcenter.ami.fake_server) pushing call events at a
           steady rate on a fixed schedule, each stamped with its push time;
  backend  the real path: AmiClient (TCP, FrameParser) -> CallTracker -> LiveModel ->
           DashboardService (coalescing) -> Broadcaster -> aiohttp WebSockets;
  clients  N aiohttp WebSocket clients (200 by default) noting when each update arrives.

Each call pushes Newchannel, Routing, DialBegin, AgentConnected, two Newexten (noise the
view ignores), the agent's and the caller's Hangup. For every event that changed the
view, its latency at a client is the arrival of the first update that includes it
(`events_seen`) minus its push time: queueing, parsing, the model, coalescing (up to
CALLCENTER_DASHBOARD_COALESCE, 0.1 s) and the fan-out all count.

The baseline, printed beside it: the backend's own processing time per event (tracker +
live model, measured around each event in the same run) and per update (snapshot + JSON).

    .venv/bin/python bench/dashboard.py [--clients 200] [--rate 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import re
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, TCPConnector, WSMsgType, web  # noqa: E402

from callcenter.agents.domain import Agent, AgentBoard  # noqa: E402
from callcenter.ami.client import AmiClient  # noqa: E402
from callcenter.ami.fake_server import FakeAmiServer, frame  # noqa: E402
from callcenter.ami.message import Message  # noqa: E402
from callcenter.calls.tracker import CallTracker  # noqa: E402
from callcenter.config import AmiConfig, RingConfig  # noqa: E402
from callcenter.dashboard.definitions import MetricSettings  # noqa: E402
from callcenter.dashboard.live import LiveModel  # noqa: E402
from callcenter.dashboard.service import DashboardService  # noqa: E402
from callcenter.kernel.fanout import Broadcaster  # noqa: E402
from callcenter.kernel.web.websocket import serve_websocket  # noqa: E402

EVENTS_PER_CALL = 8
_EVENTS_SEEN = re.compile(r'"events_seen":(\d+)')
_SEQ = re.compile(r'"seq":(\d+)')
AGENTS = 20


def call_events(n: int, now: float) -> list[list[tuple[str, str]]]:
    """The events of call `n` (a caller answered by agent 1000 + n % AGENTS)."""
    lid = f"1790000000.{n}"
    agent_uid = f"1790000000.{n}9"
    staff = str(1000 + n % AGENTS)
    caller = [("Linkedid", lid), ("Uniqueid", lid), ("Channel", f"PJSIP/2001-{n:08x}")]
    ts = ("Timestamp", f"{now:.6f}")
    return [
        [("Event", "Newchannel"), ts, *caller, ("Context", "from-callers"),
         ("CallerIDNum", f"139{n:08d}"), ("Exten", "600"), ("ChannelState", "0")],
        [("Event", "Newexten"), ts, *caller, ("Context", "from-callers"), ("Application", "Set")],
        [("Event", "UserEvent"), ts, *caller, ("UserEvent", "Routing"), ("Queue", "support")],
        [("Event", "DialBegin"), ts, *caller, ("DestChannel", f"PJSIP/{staff}-{n:08x}"),
         ("DestUniqueid", agent_uid), ("DestLinkedid", lid)],
        [("Event", "Newexten"), ts, *caller, ("Context", "from-callers"), ("Application", "Dial")],
        [("Event", "UserEvent"), ts, ("Linkedid", lid), ("Uniqueid", agent_uid),
         ("UserEvent", "AgentConnected"), ("Agent", staff), ("Endpoint", staff),
         ("Queue", "support")],
        [("Event", "Hangup"), ts, ("Linkedid", lid), ("Uniqueid", agent_uid),
         ("Channel", f"PJSIP/{staff}-{n:08x}"), ("Cause", "16")],
        [("Event", "Hangup"), ts, *caller, ("Cause", "16")],
    ]  # fmt: skip


# -- the AMI side (its own process) ---------------------------------------------------------


def ami_process(port_out: Connection, go: Any, rate: float, seconds: float) -> None:
    asyncio.run(_ami(port_out, go, rate, seconds))


async def _ami(port_out: Connection, go: Any, rate: float, seconds: float) -> None:
    server = FakeAmiServer(username="bench", secret="bench")
    server.handlers["CoreShowChannels"] = lambda m: [
        frame(("Response", "Success"), ("ActionID", m.get("ActionID") or ""),
              ("EventList", "start")),
        frame(("Event", "CoreShowChannelsComplete"), ("ActionID", m.get("ActionID") or ""),
              ("EventList", "Complete"), ("ListItems", "0")),
    ]  # fmt: skip
    await server.start()
    port_out.send(server.port)
    await server.connected.wait()
    await asyncio.to_thread(go.wait)  # a multiprocessing event: wait off the loop
    total = int(rate * seconds)
    pushed: list[float] = []
    start = time.monotonic()
    calls = 0
    pending: list[list[tuple[str, str]]] = []
    for k in range(total):
        due = start + k / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if not pending:
            pending = call_events(calls, time.time())
            calls += 1
        fields = pending.pop(0)
        now = time.time()
        fields = [(k2, f"{now:.6f}" if k2 == "Timestamp" else v) for k2, v in fields]
        server.push(frame(*fields, ("BenchSeq", str(k))))
        pushed.append(now)
    await asyncio.sleep(2.0)
    port_out.send(pushed)
    await asyncio.sleep(1.0)
    await server.stop()


# -- the clients (their own process) --------------------------------------------------------


def clients_process(url: str, clients: int, ready: Any, stop: Any, out: Connection) -> None:
    out.send(asyncio.run(_clients(url, clients, ready, stop)))


async def _clients(
    url: str, clients: int, ready: Any, stop: Any
) -> list[list[tuple[float, int, int]]]:
    seen: list[list[tuple[float, int, int]]] = [[] for _ in range(clients)]

    async def one(i: int, session: ClientSession, connected: asyncio.Event) -> None:
        async with session.ws_connect(url, max_msg_size=0) as ws:
            connected.set()
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    break
                arrived = time.time()
                # two numbers out of ~10 KB: a regex, so the clients' own parsing is not
                # what the benchmark measures (a browser parses on its own machine)
                seen_n = _EVENTS_SEEN.search(msg.data)
                seq = _SEQ.search(msg.data)
                seen[i].append(
                    (
                        arrived,
                        int(seen_n.group(1)) if seen_n else 0,
                        int(seq.group(1)) if seq else 0,
                    )
                )

    async with ClientSession(connector=TCPConnector(limit=0)) as session:  # default: 100
        flags = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(one(i, session, flags[i])) for i in range(clients)]
        await asyncio.gather(*(f.wait() for f in flags))
        ready.set()
        await asyncio.to_thread(stop.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return seen


# -- the backend (this process) -------------------------------------------------------------


def _split(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def backend(args: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    ami_out, ami_in = ctx.Pipe(duplex=False)
    ami = ctx.Process(target=ami_process, args=(ami_in, go, args.rate, args.seconds))
    ami.start()
    ami_port = await asyncio.to_thread(ami_out.recv)

    board = AgentBoard()
    for i in range(AGENTS):
        staff = str(1000 + i)
        board.add(Agent(staff, f"Agent {staff}", staff))
        board.login(staff, time.time())
    model = LiveModel(MetricSettings(RingConfig()))
    broadcaster = Broadcaster(maxsize=64, name="bench")
    service = DashboardService(model, board, broadcaster, coalesce=args.coalesce)
    tracker = CallTracker()
    processing: list[float] = []
    changed_at: dict[int, int] = {}  # BenchSeq -> events_seen after it (view changed)

    def on_event(event: Message) -> None:
        started = time.perf_counter()
        for record in tracker.feed(event):
            service.submit(record)
        changed = model.on_event(event, time.time())
        if changed:
            service.changed()
        processing.append(time.perf_counter() - started)
        seq = event.get("BenchSeq")
        if seq is not None and changed:
            changed_at[int(seq)] = model.events_seen

    client = AmiClient(AmiConfig(host="127.0.0.1", port=ami_port, username="bench", secret="bench"))
    client.subscribe(on_event)
    runner_task = asyncio.create_task(client.run())
    await client.wait_connected(10)

    async def ws(request: web.Request) -> web.StreamResponse:
        return await serve_websocket(request, broadcaster, initial=service.snapshot_text)

    app = web.Application()
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    procs = []
    for share in _split(args.clients, args.client_procs):
        ready = ctx.Event()
        out, into = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=clients_process,
            args=(f"http://127.0.0.1:{port}/ws", share, ready, stop, into),
        )
        proc.start()
        procs.append((proc, out, ready))
    for _, _, ready in procs:
        if not await asyncio.to_thread(ready.wait, 60):
            raise SystemExit("the WebSocket clients did not all connect within 60 s")
    published: list[float] = []  # wall time of each update (seq = index + 1)
    publish = broadcaster.publish

    def timed_publish(message: str | bytes, topic: str | None = None) -> int:
        published.append(time.time())
        return publish(message, topic)

    broadcaster.publish = timed_publish  # type: ignore[method-assign]
    first_seq = service.seq + 1
    ticks = asyncio.create_task(service.run_ticks())
    base_seen = model.events_seen
    go.set()
    pushed: list[float] = await asyncio.to_thread(ami_out.recv)
    await client.close()
    await asyncio.sleep(1.0)
    stop.set()
    seen: list[list[tuple[float, int, int]]] = []
    for _, out, _ in procs:
        seen += await asyncio.to_thread(out.recv)
    ticks.cancel()
    runner_task.cancel()
    await runner.cleanup()
    ami.join(10)
    for proc, _, _ in procs:
        proc.join(10)

    latencies: list[float] = []
    fanout: list[float] = []  # update published -> arrived at a client
    missing = 0
    for per_client in seen:
        for arrived, _, seq in per_client:
            if seq >= first_seq and seq - 1 < len(published):
                fanout.append(arrived - published[seq - 1])
        counts = [n for _, n, _ in per_client]
        for seq, needed in changed_at.items():
            # the first update at this client that includes the event
            lo, hi = 0, len(counts)
            while lo < hi:
                mid = (lo + hi) // 2
                if counts[mid] < needed:
                    lo = mid + 1
                else:
                    hi = mid
            if lo == len(counts):
                missing += 1
                continue
            latencies.append(per_client[lo][0] - pushed[seq])
    return {
        "clients": args.clients,
        "rate": args.rate,
        "events": len(pushed),
        "view_changing_events": len(changed_at),
        "events_seen_at_start": base_seen,
        "updates_sent": service.stats.flushes,
        "update_bytes": service.stats.last_bytes,
        "dropped_clients": broadcaster.dropped,
        "missing": missing,
        "latency_p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "latency_max_ms": round(max(latencies) * 1000, 2) if latencies else None,
        "fanout_p50_ms": round(percentile(fanout, 0.5) * 1000, 2),
        "fanout_p99_ms": round(percentile(fanout, 0.99) * 1000, 2),
        "processing_p50_us": round(percentile(processing, 0.5) * 1e6, 1),
        "processing_p99_us": round(percentile(processing, 0.99) * 1e6, 1),
        "processing_mean_us": round(statistics.fmean(processing) * 1e6, 1),
        "snapshot_build_max_ms": service.stats.max_build_ms,
        "snapshot_build_last_ms": service.stats.last_build_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0, help="AMI events per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--coalesce", type=float, default=0.1)
    parser.add_argument("--client-procs", type=int, default=2, help="processes for the clients")
    args = parser.parse_args()
    result = asyncio.run(backend(args))
    print(
        f"{result['clients']} WebSocket clients, {result['events']} AMI events at "
        f"{result['rate']:g}/s ({result['view_changing_events']} changed the view), "
        f"{result['updates_sent']} updates of ~{result['update_bytes']} bytes, "
        f"{result['dropped_clients']} clients dropped"
    )
    print(f"{'':34} {'p50':>10} {'p99':>10}")
    print(
        f"{'event -> client (end to end)':34} {result['latency_p50_ms']:>8.2f}ms"
        f" {result['latency_p99_ms']:>8.2f}ms"
    )
    print(
        f"{'  of which update -> client':34} {result['fanout_p50_ms']:>8.2f}ms"
        f" {result['fanout_p99_ms']:>8.2f}ms"
    )
    print(
        f"{'pipeline per event (baseline)':34} {result['processing_p50_us'] / 1000:>8.3f}ms"
        f" {result['processing_p99_us'] / 1000:>8.3f}ms"
    )
    ratio = result["latency_p50_ms"] / max(1e-9, result["processing_p50_us"] / 1000)
    print(
        f"end-to-end p50 is {ratio:,.0f}x the per-event processing p50; snapshot build "
        f"(per update, not per client) max {result['snapshot_build_max_ms']:.2f}ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
