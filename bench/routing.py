"""Routing: decision latency over real FastAGI, and time to answer across a burst.

Three parts, every number relative to something measured in the same run:

1. baseline: FrameParser + CallTracker over the replay corpus (the
   "pipeline" case of bench/replay_throughput.py), in events/s and us/event;
2. the router (callcenter.routing.service.Router behind FastAgiServer) answering
   `route` requests sent over TCP loopback by a client process that speaks
   FastAGI as Asterisk does, at increasing rates, while the replayed AMI corpus
   is fed into the router and a CallTracker at a fixed rate; latency is first
   byte sent -> connection closed by the server;
3. a discrete-event simulation (injected clock, pure parts only: decide,
   AgentBoard, WaitingCall, RouteSettings) of a burst of calls through the
   dialplan's routing loop, beside a naive app_queue-like policy.

    .venv/bin/python bench/routing.py [--quick] [--seed N]

Progress goes to stderr; the table and a final `JSON {...}` line to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import heapq
import json
import logging
import math
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
sys.path.insert(0, str(ROOT))

from bench import replay_throughput as replay  # noqa: E402
from callcenter.agents.domain import (  # noqa: E402
    MISSED_CALLS,
    Agent,
    AgentBoard,
    AgentState,
    AgentStatus,
    BoardSettings,
    Transition,
)
from callcenter.agents.service import AgentService  # noqa: E402
from callcenter.agi.fastagi import FastAgiServer  # noqa: E402
from callcenter.ami.frame import FrameParser  # noqa: E402
from callcenter.calls.tracker import CallTracker  # noqa: E402
from callcenter.kernel.shifts import OpeningHours  # noqa: E402
from callcenter.ops.logging import setup_logging  # noqa: E402
from callcenter.routing.decide import (  # noqa: E402
    Decision,
    Ring,
    RouteSettings,
    SystemAnswer,
    Wait,
    WaitingCall,
    decide,
)
from callcenter.routing.service import NOT_ANSWERED, Router  # noqa: E402

if TYPE_CHECKING:
    from callcenter.agents.store import AgentRepository

SKILL = "support"
AGENTS = 50  # staff numbers and endpoints 5000..5049
FEED_RATE = 5_000  # replayed AMI events per second while decisions run
FEED_TICK = 0.005
MAX_CLIENTS = 16  # concurrent FastAGI requests in the "max" phase
CALLS_IN_FLIGHT = 45  # fewer than the agents, so agents free up
ANSWER_SHARE = 0.8
RING_S = 0.001  # an agent's phone rings this long before it answers (or gives up)
TALK_S = 0.005
DEFAULT_SEED = 20240601
WARM_UP_S = 0.5


def emit(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine, all cores (zeros where /proc is absent)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# -- 1. baseline ------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    events: int
    seconds: float

    @property
    def eps(self) -> float:
        return self.events / self.seconds

    @property
    def us_per_event(self) -> float:
        return self.seconds / self.events * 1e6


def measure_baseline(data: bytes, events: int, repeat: int) -> Baseline:
    seconds, _ = replay.best_of(repeat, replay.run_pipeline, data)
    return Baseline(events, seconds)


# -- 2. decisions over FastAGI: the server side -----------------------------------------


class MemoryRepository:
    """The methods the agent service calls, in memory: the database is out of this measurement."""

    def __init__(self) -> None:
        self.recorded = 0
        self.callbacks = 0

    async def open_case_owner(self, caller_number: str) -> str | None:
        return None

    async def record(
        self, transitions: Sequence[Transition], statuses: Mapping[str, AgentStatus]
    ) -> None:
        self.recorded += len(transitions)

    async def add_callback_request(
        self,
        caller_number: str,
        source: str,
        linkedid: str | None,
        at: float,
        message: str | None = None,
    ) -> None:
        self.callbacks += 1

    async def list_agents(self) -> list[tuple[Agent, AgentStatus]]:
        return []


def frame_ends(data: bytes) -> tuple[bytes, list[int]]:
    """The event frames of a replay stream (banner dropped) and where each one ends."""
    body = data[data.find(b"\r\n") + 2 :] if data.startswith(b"Asterisk Call Manager/") else data
    return body, [m.end() for m in re.finditer(b"\r\n\r\n", body)]


class CorpusFeed:
    """Replayed AMI bytes -> FrameParser -> CallTracker and Router.on_event, at `rate` events/s."""

    def __init__(self, body: bytes, ends: list[int], rate: int, router: Router) -> None:
        self._body, self._ends, self._rate, self._router = body, ends, rate, router
        self.tracker = CallTracker()
        self.fed = 0
        self.skipped = 0  # events not fed because the loop was too busy to keep the rate

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        parser = FrameParser()
        index = 0
        start = loop.time()
        cap = max(1, self._rate // 20)  # never catch up more than 50 ms of events at once
        while True:
            await asyncio.sleep(FEED_TICK)
            due = int((loop.time() - start) * self._rate) - self.fed - self.skipped
            if due <= 0:
                continue
            if due > cap:
                self.skipped += due - cap
                due = cap
            if index + due > len(self._ends):
                # Corpus used up: start again with fresh ids in a fresh parser and tracker.
                index, parser, self.tracker = 0, FrameParser(), CallTracker()
                due = min(due, len(self._ends))
            begin = self._ends[index - 1] if index else 0
            chunk = self._body[begin : self._ends[index + due - 1]]
            for message in parser.feed(chunk):
                self.tracker.feed(message)
                self._router.on_event(message)
            index += due
            self.fed += due


@dataclass(frozen=True)
class ClientPlan:
    agi_port: int
    ami_port: int
    rate: float  # route requests per second; 0 = as fast as `clients` requests in flight go
    seconds: float
    calls: int  # calls in progress at once
    clients: int  # route requests in flight at once, at most
    seed: int
    base: int  # linkedid prefix, distinct per phase


@dataclass
class Phase:
    label: str
    target: float
    client: dict[str, Any]
    feed_eps: float
    feed_skipped: int
    cpu_share: float  # server process CPU time / wall time during the phase
    machine_cores: float  # cores busy machine-wide (every process) during the phase
    handler_p50_us: float
    handler_p99_us: float
    agi_failures: int
    not_available_after: int
    waiting_after: int


class RoutingBench:
    def __init__(self, body: bytes, ends: list[int], feed_rate: int) -> None:
        self.board = AgentBoard(BoardSettings(max_missed=1000))
        now = time.time()
        for i in range(AGENTS):
            staff = str(5000 + i)
            self.board.add(Agent(staff, f"Agent {staff}", staff, frozenset({SKILL})))
            self.board.login(staff, now)
        self.repository = MemoryRepository()
        self.agents = AgentService(self.board, cast("AgentRepository", self.repository))
        self.router = Router(self.agents, RouteSettings(), OpeningHours((), "UTC"))
        self.server = FastAgiServer("127.0.0.1", 0, self.router.handlers(), key=BENCH_AGI_KEY)
        self.feed = CorpusFeed(body, ends, feed_rate, self.router)
        self.wrap_ups = 0

    async def _serve_ami(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The client's channel events (Hangup) as AMI frames, like Asterisk's AMI stream."""
        parser = FrameParser()
        try:
            while data := await reader.read(65536):
                for message in parser.feed(data):
                    self.feed.tracker.feed(message)
                    self.router.on_event(message)
                    if message.get("UserEvent") == "BenchWrapUpDone":
                        # The agent presses "done" in the UI (not an AMI event).
                        self.agents.finish_wrap_up(message.get("Agent") or "")
                        self.wrap_ups += 1
        finally:
            writer.close()

    async def run(
        self, phases: Sequence[tuple[str, float]], seconds: float, seed: int
    ) -> list[Phase]:
        await self.server.start()
        ami = await asyncio.start_server(self._serve_ami, "127.0.0.1", 0)
        ami_port = int(ami.sockets[0].getsockname()[1])
        tasks = [
            asyncio.create_task(self.agents.run_persistence(), name="router-persistence"),
            asyncio.create_task(self.agents.run_ticks(), name="router-ticks"),
            asyncio.create_task(self.feed.run(), name="corpus-feed"),
        ]
        results: list[Phase] = []
        # A first, unreported phase: connections, imports and caches warm.
        schedule = [("warm-up", 200.0, WARM_UP_S)] + [(lb, r, seconds) for lb, r in phases]
        try:
            for number, (label, rate, length) in enumerate(schedule):
                plan = ClientPlan(
                    agi_port=self.server.port,
                    ami_port=ami_port,
                    rate=rate,
                    seconds=length,
                    calls=CALLS_IN_FLIGHT,
                    clients=MAX_CLIENTS if rate == 0 else CALLS_IN_FLIGHT,
                    seed=seed + number,
                    base=1_800_000_000 + 10 * number,
                )
                emit(f"  routing phase {label} ({length:g} s)")
                result = await self._phase(label, plan)
                if number:
                    results.append(result)
                for task in tasks:
                    if task.done():
                        task.result()  # a background failure ends the benchmark loudly
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            ami.close()
            await self.server.close()
        return results

    async def _phase(self, label: str, plan: ClientPlan) -> Phase:
        gc.collect()
        loop = asyncio.get_running_loop()
        failures_before = self.server.failures
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            "--client",
            json.dumps(asdict(plan)),
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        ready = await proc.stdout.readline()
        if ready.strip() != b"ready":
            raise SystemExit(f"routing client did not start: {ready!r}")
        self.router.stats.latencies.clear()
        fed0, skipped0, t0 = self.feed.fed, self.feed.skipped, loop.time()
        cpu0, (busy0, total0) = time.process_time(), machine_ticks()
        out, _ = await proc.communicate()
        elapsed = loop.time() - t0
        cpu = time.process_time() - cpu0
        busy1, total1 = machine_ticks()
        ticks = total1 - total0
        cores = (busy1 - busy0) / ticks * (os.cpu_count() or 1) if ticks else 0.0
        fed, skipped = self.feed.fed - fed0, self.feed.skipped - skipped0
        if proc.returncode != 0:
            raise SystemExit(f"routing client failed ({proc.returncode})")
        handler = sorted(self.router.stats.latencies)
        await asyncio.sleep(0.05)  # the last AMI frames of the client
        await self.agents.flush()
        not_available = sum(
            1 for st in self.board.status.values() if st.state is not AgentState.AVAILABLE
        )
        return Phase(
            label=label,
            target=plan.rate,
            client=json.loads(out.decode().strip().splitlines()[-1]),
            feed_eps=fed / elapsed,
            feed_skipped=skipped,
            cpu_share=cpu / elapsed,
            machine_cores=cores,
            handler_p50_us=percentile(handler, 50) * 1e6,
            handler_p99_us=percentile(handler, 99) * 1e6,
            agi_failures=self.server.failures - failures_before,
            not_available_after=not_available,
            waiting_after=len(self.router.waiting),
        )


def measure_routing(
    data: bytes,
    phases: Sequence[tuple[str, float]],
    seconds: float,
    feed_rate: int,
    seed: int,
    log_info: bool,
) -> list[Phase]:
    body, ends = frame_ends(data)
    bench = RoutingBench(body, ends, feed_rate)
    if not log_info:
        return asyncio.run(bench.run(phases, seconds, seed))
    # Production logs every agent transition at INFO: format them, write them nowhere.
    with open(os.devnull, "w") as sink:
        handler = setup_logging("plain", logging.INFO, stream=sink)
        try:
            return asyncio.run(bench.run(phases, seconds, seed))
        finally:
            logging.getLogger().removeHandler(handler)
            logging.getLogger().setLevel(logging.WARNING)


@dataclass(frozen=True)
class DecideCost:
    agents: int
    free: int
    waiting: int
    per_decision: float  # seconds, mean over every waiting call asking once
    round_seconds: float  # every waiting call asking once (held callers do, every wait_step)


def time_decide(agents: int, free: int, waiting: int, repeat: int, tries: int) -> DecideCost:
    """`decide` alone, no I/O: each of `waiting` calls asks once, `free` of `agents` available."""
    board = AgentBoard()
    for i in range(agents):
        staff = str(5000 + i)
        board.add(Agent(staff, staff, staff, frozenset({SKILL})))
        board.login(staff, float(i))
        if i >= free:
            board.offer(staff, f"busy.{i}", 100.0)
    calls = [
        WaitingCall(f"1000.{i}", 1000.0 + i * 0.01, system_answered=waiting > 1)
        for i in range(waiting)
    ]
    settings = RouteSettings()
    best = math.inf
    for _ in range(tries):
        started = time.perf_counter()
        for _ in range(repeat):
            for call in calls:
                decide(call, calls, board, 1005.0, settings)
        best = min(best, (time.perf_counter() - started) / repeat)
    return DecideCost(agents, free, waiting, best / waiting, best)


# -- 2. decisions over FastAGI: the client side (a separate process, like Asterisk) ------


# The FastAGI key both sides of the benchmark use (the real one is per install).
BENCH_AGI_KEY = "bench-agi-key"


def agi_env(script: str, args: Sequence[str], channel: str, uniqueid: str, port: int) -> bytes:
    lines = [
        "agi_network: yes",
        f"agi_network_script: {script}?key={BENCH_AGI_KEY}",
        f"agi_request: agi://127.0.0.1:{port}/{script}?key={BENCH_AGI_KEY}",
        f"agi_channel: {channel}",
        "agi_language: en",
        "agi_type: PJSIP",
        f"agi_uniqueid: {uniqueid}",
        "agi_version: 22.0.0",
        "agi_callerid: 0912345678",
        "agi_calleridname: unknown",
        "agi_callingpres: 0",
        "agi_dnid: 1999",
        "agi_rdnis: unknown",
        "agi_context: from-callers",
        "agi_extension: 1999",
        "agi_priority: 13",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
        "agi_threadid: 140000000000000",
        *(f"agi_arg_{i}: {arg}" for i, arg in enumerate(args, 1)),
    ]
    return ("\n".join(lines) + "\n\n").encode()


def unquote(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    return re.sub(r"\\(.)", r"\1", raw)


class AgiExchange(asyncio.Protocol):
    """One FastAGI request as Asterisk makes it: send the environment, answer every
    command with `200 result=1`, until the server closes. A protocol rather than
    streams so the client process stays cheap next to the server it measures."""

    def __init__(self, request: bytes) -> None:
        self._request = request
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._started = 0.0
        self.variables: dict[str, str] = {}
        self.latency: float | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._started = time.perf_counter()
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            if line.startswith(b"SET VARIABLE "):
                name, _, value = line[len(b"SET VARIABLE ") :].decode().partition(" ")
                self.variables[name] = unquote(value)
            self._transport.write(b"200 result=1\n")

    def eof_received(self) -> bool:
        self.latency = time.perf_counter() - self._started
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.latency is None:
            self.latency = time.perf_counter() - self._started
        if not self.done.done():
            self.done.set_result(None)


async def agi(
    port: int, script: str, args: Sequence[str], channel: str, uniqueid: str
) -> tuple[dict[str, str], float]:
    """The reply's variables and the latency: first byte sent -> connection closed by server."""
    exchange = AgiExchange(agi_env(script, args, channel, uniqueid, port))
    await asyncio.get_running_loop().create_connection(lambda: exchange, "127.0.0.1", port)
    await exchange.done
    assert exchange.latency is not None
    return exchange.variables, exchange.latency


class Pacer:
    """Hands out request start times `1/rate` apart (no catch-up burst after a stall)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0

    async def slot(self) -> None:
        now = time.perf_counter()
        at = max(self._next, now)
        self._next = at + self._interval
        if at > now:
            await asyncio.sleep(at - now)


class CallClient:
    def __init__(self, plan: ClientPlan, ami: asyncio.StreamWriter) -> None:
        self.plan = plan
        self.ami = ami
        self.rng = random.Random(plan.seed)
        self.pacer = Pacer(plan.rate) if plan.rate > 0 else None
        self.in_flight = asyncio.Semaphore(plan.clients)
        self.route_latency: list[float] = []
        self.connected_latency: list[float] = []
        self.actions: Counter[str] = Counter()
        self.next_call = 0
        self.started = 0.0
        self.deadline = 0.0

    async def run(self) -> dict[str, Any]:
        cpu = time.process_time()
        self.started = time.perf_counter()
        self.deadline = self.started + self.plan.seconds
        await asyncio.gather(*(self._worker() for _ in range(self.plan.calls)))
        await self.ami.drain()
        elapsed = time.perf_counter() - self.started
        lat = sorted(self.route_latency)
        conn = sorted(self.connected_latency)
        return {
            "decisions": len(lat),
            "decisions_per_s": len(lat) / self.plan.seconds,
            "p50_ms": percentile(lat, 50) * 1e3,
            "p99_ms": percentile(lat, 99) * 1e3,
            "max_ms": (lat[-1] if lat else 0.0) * 1e3,
            "connected_p50_ms": percentile(conn, 50) * 1e3,
            "actions": dict(self.actions),
            "calls": self.next_call,
            "elapsed_s": elapsed,
            "cpu_share": (time.process_time() - cpu) / elapsed,
        }

    async def _worker(self) -> None:
        while time.perf_counter() < self.deadline:
            self.next_call += 1
            await self._call(self.next_call)

    async def _request(
        self, script: str, args: Sequence[str], channel: str, uniqueid: str
    ) -> tuple[dict[str, str], float]:
        async with self.in_flight:
            return await agi(self.plan.agi_port, script, args, channel, uniqueid)

    async def _call(self, n: int) -> None:
        """One inbound call through the dialplan's loop (extensions.conf, [from-callers])."""
        linkedid = f"{self.plan.base}.{n}"
        agent_leg = f"{self.plan.base + 1}.{n}"
        caller = f"09{self.rng.randrange(10**8):08d}"
        arrived = f"{time.time():.3f}"
        trunk = f"PJSIP/trunk-{n:08x}"
        dialstatus = rung = answered = ""
        while True:
            if self.pacer is not None:
                await self.pacer.slot()
            sent = time.perf_counter()
            reply, latency = await self._request(
                "route",
                [linkedid, caller, arrived, SKILL, dialstatus, rung, answered],
                trunk,
                linkedid,
            )
            action = reply.get("CC_ACTION", "")
            if sent < self.deadline:
                self.route_latency.append(latency)
                self.actions[action or "none"] += 1
            dialstatus = rung = ""
            if action == "dial":
                staff, endpoint = reply["CC_AGENT"], reply["CC_ENDPOINT"]
                await asyncio.sleep(RING_S)
                if self.rng.random() >= ANSWER_SHARE:
                    dialstatus, rung = "NOANSWER", staff
                    continue
                channel = f"PJSIP/{endpoint}-{n:08x}"
                _, latency = await self._request("connected", [linkedid, staff], channel, agent_leg)
                if sent < self.deadline:
                    self.connected_latency.append(latency)
                await asyncio.sleep(TALK_S)
                self.ami.write(
                    hangup_frame(channel, agent_leg, linkedid)
                    + hangup_frame(trunk, linkedid, linkedid)
                    + b"Event: UserEvent\r\nUserEvent: BenchWrapUpDone\r\n"
                    + f"Agent: {staff}\r\n\r\n".encode()
                )
                return
            if action == "wait":
                await asyncio.sleep(float(reply.get("CC_TIMEOUT") or 1.0))
            elif action == "system":
                answered = "1"
            else:
                return  # closed, or the router refused: the call leaves


def hangup_frame(channel: str, uniqueid: str, linkedid: str) -> bytes:
    return (
        f"Event: Hangup\r\nPrivilege: call,all\r\nChannel: {channel}\r\n"
        f"Uniqueid: {uniqueid}\r\nLinkedid: {linkedid}\r\nCause: 16\r\n"
        "Cause-txt: Normal Clearing\r\n\r\n"
    ).encode()


async def client_main(plan: ClientPlan) -> dict[str, Any]:
    _, ami = await asyncio.open_connection("127.0.0.1", plan.ami_port)
    ami.write(b"Asterisk Call Manager/11.0.0\r\n")
    print("ready", flush=True)
    try:
        return await CallClient(plan, ami).run()
    finally:
        ami.close()
        with contextlib.suppress(ConnectionError):
            await ami.wait_closed()


# -- 3. time to answer across a burst (simulation, injected clock) ----------------------


@dataclass(frozen=True)
class Burst:
    calls: int = 300
    over: float = 60.0  # seconds; arrivals are a Poisson process conditioned on `calls`
    agents: int = 20
    ghosts: int = 3  # logged in, never answer
    answer_delay: tuple[float, float] = (1.0, 6.0)
    talk: tuple[float, float] = (30.0, 120.0)
    wrap_up: float = 10.0
    # Per routing round: AGI round trip plus the dialplan steps around it.
    agi_seconds: float = 0.01
    naive_ring: float = 15.0  # app_queue-like: each agent rings this long, no budget
    limit: float = 6 * 3600.0  # simulated time after which callers still waiting are counted


@dataclass(frozen=True)
class Scenario:
    arrivals: list[float]
    talk: list[float]
    ghosts: frozenset[str]
    staff: list[str]


def make_scenario(burst: Burst, seed: int) -> Scenario:
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0.0, burst.over) for _ in range(burst.calls))
    talk = [rng.uniform(*burst.talk) for _ in range(burst.calls)]
    staff = [f"{100 + i}" for i in range(burst.agents)]
    return Scenario(arrivals, talk, frozenset(rng.sample(staff, burst.ghosts)), staff)


@dataclass
class Outcome:
    policy: str
    arrived: list[float]
    agent_at: list[float | None]
    system_at: list[float | None]
    offers: int = 0
    ghost_offers: int = 0
    routing_rounds: int = 0
    real_agents_auto_paused: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Dialplan:
    """A call's channel variables in [from-callers] (CC_AGENT, CC_DIALSTATUS, CC_ANSWERED)."""

    agent: str = ""
    dialstatus: str = ""
    answered: bool = False


_NOBODY = AgentBoard()


class RouterSimulation:
    """Router.route's bookkeeping around `decide`, driven by the dialplan, on a simulated clock.

    With `exact=False`, a call that cannot get an agent (fewer free agents than
    older calls waiting for one) is decided against an empty board instead of the
    whole waiting list: `assign` hands each older call one agent, so the decision
    is the same (SystemAnswer or Wait; only Wait.position, unused here, differs).
    This keeps a 25-minute backlog of held callers, each asking every second,
    in seconds of CPU. `--exact-sim` turns it off."""

    def __init__(self, burst: Burst, scenario: Scenario, seed: int, exact: bool) -> None:
        self.burst, self.scenario, self.exact = burst, scenario, exact
        self.rng = random.Random(seed + 1)
        self.settings = RouteSettings()
        self.board = AgentBoard(BoardSettings(wrap_up_seconds=burst.wrap_up))
        for staff in scenario.staff:
            self.board.add(Agent(staff, f"Agent {staff}", staff, frozenset({SKILL})))
            self.board.login(staff, 0.0)
        self.waiting: dict[str, WaitingCall] = {}
        self.plans: dict[str, _Dialplan] = {}
        self.events: list[tuple[float, int, str, str, str]] = []
        self.seq = 0
        n = len(scenario.arrivals)
        self.out = Outcome("router", list(scenario.arrivals), [None] * n, [None] * n)
        self.paused: set[str] = set()

    def _at(self, t: float, kind: str, linkedid: str, staff: str = "") -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, linkedid, staff))

    def run(self) -> Outcome:
        for i, t in enumerate(self.scenario.arrivals):
            self._at(t, "route", str(i))
        while self.events:
            t, _, kind, linkedid, staff = heapq.heappop(self.events)
            if t > self.burst.limit:
                self.out.notes.append(f"stopped at {self.burst.limit:.0f} s simulated")
                break
            if kind == "route":
                self._route(t, linkedid)
            elif kind == "answer":
                self._connected(t, linkedid, staff)
            elif kind == "hangup":
                self._commit(self.board.call_ended(staff, linkedid, t))
                self._at(t + self.burst.wrap_up, "tick", linkedid)
            elif kind == "tick":
                self._commit(self.board.expire(t))
        return self.out

    def _commit(self, transitions: Iterable[Transition]) -> None:
        for tr in transitions:
            if tr.reason == MISSED_CALLS and tr.staff_no not in self.scenario.ghosts:
                if tr.staff_no not in self.paused:
                    self.out.real_agents_auto_paused += 1
                self.paused.add(tr.staff_no)

    def _decide(self, call: WaitingCall, now: float) -> Decision:
        if not self.exact:
            free = sum(1 for st in self.board.status.values() if st.state is AgentState.AVAILABLE)
            key = (call.arrived_at, call.linkedid)
            ahead = (
                sum(
                    1
                    for c in self.waiting.values()
                    if c.dialling is None
                    and c.linkedid != call.linkedid
                    and (c.arrived_at, c.linkedid) < key
                )
                if free
                else 0
            )
            if ahead >= free:
                return decide(call, (call,), _NOBODY, now, self.settings)
        return decide(call, list(self.waiting.values()), self.board, now, self.settings)

    def _route(self, t: float, linkedid: str) -> None:
        """Router.route (minus the case owner) and then the dialplan's next step."""
        i = int(linkedid)
        plan = self.plans.setdefault(linkedid, _Dialplan())
        self.out.routing_rounds += 1
        call = self.waiting.get(linkedid) or WaitingCall(linkedid, self.out.arrived[i], SKILL)
        if plan.agent and call.dialling == plan.agent:
            staff = plan.agent
            if plan.dialstatus in NOT_ANSWERED:
                self._commit(self.board.not_answered(staff, linkedid, t))
            else:
                self._commit(self.board.withdrawn(staff, linkedid, t))
            call = replace(call, dialling=None, tried=call.tried | {staff})
        if plan.answered and not call.system_answered:
            call = replace(call, system_answered=True)
        self.waiting[linkedid] = call
        decision = self._decide(call, t)
        if isinstance(decision, Ring):
            self._commit(self.board.offer(decision.agent.staff_no, linkedid, t))
            self.waiting[linkedid] = replace(call, dialling=decision.agent.staff_no)
        elif isinstance(decision, SystemAnswer):
            self.waiting[linkedid] = replace(call, system_answered=True)
        # The dialplan, once the AGI returns.
        now = t + self.burst.agi_seconds
        plan.dialstatus = ""
        left = self.settings.ring.budget_seconds - (now - self.out.arrived[i])
        if isinstance(decision, Ring):
            plan.agent = decision.agent.staff_no
        if not plan.answered and (left < 0.5 or isinstance(decision, SystemAnswer)):
            plan.answered = True
            self.out.system_at[i] = now
            self._at(now, "route", linkedid)  # hold,1 asks again straight away
            return
        if isinstance(decision, Ring):
            seconds = decision.seconds if plan.answered else min(decision.seconds, left - 0.3)
            self._dial(now, linkedid, decision.agent.staff_no, seconds)
        elif isinstance(decision, Wait):
            if plan.answered:
                self._at(now + decision.seconds, "route", linkedid)  # WaitExten, hold,1
            else:
                plan.agent = ""
                self._at(now + min(decision.seconds, left - 0.3), "route", linkedid)
        else:
            raise AssertionError(f"closed while always open: {decision}")

    def _dial(self, now: float, linkedid: str, staff: str, seconds: float) -> None:
        self.out.offers += 1
        plan = self.plans[linkedid]
        if staff in self.scenario.ghosts:
            self.out.ghost_offers += 1
            delay = math.inf
        else:
            delay = self.rng.uniform(*self.burst.answer_delay)
        if delay < seconds:
            self._at(now + delay, "answer", linkedid, staff)
        else:
            plan.dialstatus = "NOANSWER"
            self._at(now + seconds, "route", linkedid)

    def _connected(self, t: float, linkedid: str, staff: str) -> None:
        i = int(linkedid)
        self.waiting.pop(linkedid, None)
        self._commit(self.board.answered(staff, linkedid, t))
        self.out.agent_at[i] = t
        self._at(t + self.scenario.talk[i], "hangup", linkedid, staff)


def simulate_naive(burst: Burst, scenario: Scenario, seed: int) -> Outcome:
    """app_queue-like (strategy rrmemory, timeout 15, retry 0, wrapuptime, no autopause):
    the oldest callers ring free agents one at a time, round robin; no budget, no system answer."""
    rng = random.Random(seed + 1)
    n = len(scenario.arrivals)
    out = Outcome("naive", list(scenario.arrivals), [None] * n, [None] * n)
    staff = scenario.staff
    busy_until = dict.fromkeys(staff, 0.0)  # ringing, talking or wrapping up until then
    ringing: set[str] = set()
    waiting: list[int] = []  # callers not ringing anyone, oldest first
    pointer = 0
    events: list[tuple[float, int, str, int, str]] = []
    seq = 0

    def at(t: float, kind: str, caller: int, agent: str = "") -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, caller, agent))

    for i, t in enumerate(scenario.arrivals):
        at(t, "arrive", i)
    while events:
        t, _, kind, caller, agent = heapq.heappop(events)
        if t > burst.limit:
            out.notes.append(f"stopped at {burst.limit:.0f} s simulated")
            break
        if kind == "arrive":
            waiting.append(caller)
        elif kind == "ring-end":
            ringing.discard(agent)
            busy_until[agent] = t
            waiting.append(caller)
            waiting.sort()
        elif kind == "answer":
            ringing.discard(agent)
            out.agent_at[caller] = t
            busy_until[agent] = t + scenario.talk[caller] + burst.wrap_up
            at(busy_until[agent], "free", caller, agent)
        # "free" only wakes the dispatcher.
        while waiting:
            free = [
                k
                for k in range(len(staff))
                if staff[(pointer + k) % len(staff)] not in ringing
                and busy_until[staff[(pointer + k) % len(staff)]] <= t
            ]
            if not free:
                break
            k = (pointer + free[0]) % len(staff)
            pointer = k + 1
            chosen = staff[k]
            who = waiting.pop(0)
            ringing.add(chosen)
            out.offers += 1
            if chosen in scenario.ghosts:
                out.ghost_offers += 1
                delay = math.inf
            else:
                delay = rng.uniform(*burst.answer_delay)
            if delay < burst.naive_ring:
                at(t + delay, "answer", who, chosen)
            else:
                at(t + burst.naive_ring, "ring-end", who, chosen)
    return out


BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1 (0-5 s)", 1, 1),
    ("2 (5-10 s)", 2, 2),
    ("3 (10-15 s)", 3, 3),
    ("4-6 (15-30 s)", 4, 6),
    ("7-12 (30-60 s)", 7, 12),
    ("13-60 (1-5 min)", 13, 60),
    ("61+ (> 5 min)", 61, 10**9),
)


def rings(seconds: float, cadence: float) -> int:
    return max(1, math.ceil(seconds / cadence - 1e-9))


def summarize(out: Outcome, cadence: float) -> dict[str, Any]:
    histogram = Counter[str]()
    first_answer: list[float] = []
    reach_agent: list[float] = []
    held_wait: list[float] = []
    system = unanswered = 0
    for arrived, agent_at, system_at in zip(out.arrived, out.agent_at, out.system_at, strict=True):
        if system_at is not None and (agent_at is None or system_at <= agent_at):
            system += 1
            first_answer.append(system_at - arrived)
            if agent_at is not None:
                held_wait.append(agent_at - arrived)
        elif agent_at is not None:
            n = rings(agent_at - arrived, cadence)
            histogram[next(label for label, lo, hi in BUCKETS if lo <= n <= hi)] += 1
            first_answer.append(agent_at - arrived)
        else:
            unanswered += 1
        if agent_at is not None:
            reach_agent.append(agent_at - arrived)
    first_answer.sort()
    reach_agent.sort()
    held_wait.sort()
    return {
        "histogram": {label: histogram[label] for label, _, _ in BUCKETS},
        "system_answered": system,
        "never_answered": unanswered,
        "max_time_to_answer_s": first_answer[-1] if first_answer else 0.0,
        "p50_time_to_answer_s": percentile(first_answer, 50),
        "held_wait_p50_s": percentile(held_wait, 50),
        "held_wait_max_s": held_wait[-1] if held_wait else 0.0,
        "reach_agent_p50_s": percentile(reach_agent, 50),
        "reach_agent_p90_s": percentile(reach_agent, 90),
        "reach_agent_max_s": reach_agent[-1] if reach_agent else 0.0,
        "offers": out.offers,
        "ghost_offers": out.ghost_offers,
        "routing_rounds": out.routing_rounds,
        "real_agents_auto_paused": out.real_agents_auto_paused,
        "notes": out.notes,
    }


def measure_burst(burst: Burst, seed: int, exact: bool) -> dict[str, Any]:
    scenario = make_scenario(burst, seed)
    cadence = RouteSettings().ring.cadence_seconds
    started = time.perf_counter()
    ours = summarize(RouterSimulation(burst, scenario, seed, exact).run(), cadence)
    ours_cpu = time.perf_counter() - started
    naive = summarize(simulate_naive(burst, scenario, seed), cadence)
    return {
        "seed": seed,
        "burst": asdict(burst),
        "ghosts": sorted(scenario.ghosts),
        "router": ours,
        "naive": naive,
        "router_sim_cpu_s": ours_cpu,
    }


# -- output -------------------------------------------------------------------------------


def print_report(
    baseline: Baseline,
    log_info: bool,
    phases: Sequence[Phase],
    costs: Sequence[DecideCost],
    burst: Mapping[str, Any],
    feed_rate: int,
) -> None:
    print("## 1. Baseline: FrameParser + CallTracker over the replay corpus")
    print(
        f"{baseline.events:,} events, best of 3: {baseline.eps:,.0f} events/s"
        f" = {baseline.us_per_event:.2f} us/event"
    )
    print()
    print(
        f"## 2. route over FastAGI (TCP loopback, separate client process), {AGENTS} agents,"
        f" replayed AMI feed at {feed_rate:,} events/s,"
        f" {'INFO log to /dev/null' if log_info else 'no log handler'}"
    )
    print(
        f"{'target/s':>8} {'got/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
        f" {'p50/event':>9} {'route() us':>10} {'conn. ms':>8} {'feed ev/s':>9}"
        f" {'cpu srv/cli':>11} {'others':>6}  dial/wait/system"
    )
    for ph in phases:
        c = ph.client
        acts = c["actions"]
        ratio = c["p50_ms"] * 1e3 / baseline.us_per_event
        print(
            f"{ph.label:>8} {c['decisions_per_s']:6,.0f} {c['p50_ms']:7.2f} {c['p99_ms']:7.2f}"
            f" {c['max_ms']:7.1f} {ratio:8,.0f}x {ph.handler_p50_us:10,.0f}"
            f" {c['connected_p50_ms']:8.2f} {ph.feed_eps:9,.0f}"
            f" {ph.cpu_share:5.0%}/{c['cpu_share']:<5.0%}"
            f" {max(0.0, ph.machine_cores - ph.cpu_share - c['cpu_share']):6.2f}"
            f"  {acts.get('dial', 0)}/{acts.get('wait', 0)}/{acts.get('system', 0)}"
        )
    print(
        "p50/event: p50 latency over the baseline's time per event. route() us: p50 of"
        " Router.route alone (RouterStats). conn.: p50 of the `connected` request."
    )
    print(
        f"cpu: share of one core, server/client process; others: cores busy with anything"
        f" else on this machine (of {os.cpu_count()}) during the phase."
    )
    print(
        "after each phase: "
        + "; ".join(
            f"{ph.label}: {ph.agi_failures} AGI failures, {ph.not_available_after} agents not"
            f" available, {ph.waiting_after} calls waiting"
            for ph in phases
        )
    )
    print("decide() alone, no I/O; held callers ask once per second each, so a round of")
    print("asks by every waiting call costs the CPU time below every second:")
    for cost in costs:
        print(
            f"  {cost.agents} agents ({cost.free} free), {cost.waiting} waiting:"
            f" {cost.per_decision * 1e6:,.0f} us per decision"
            f" ({cost.per_decision * 1e6 / baseline.us_per_event:,.0f}x event)"
            + (f", {cost.round_seconds * 1e3:,.0f} ms per round" if cost.waiting > 1 else "")
        )
    print()
    b = burst["burst"]
    ours, naive = burst["router"], burst["naive"]
    print(
        f"## 3. Time to answer across a burst (simulated; seed {burst['seed']}):"
        f" {b['calls']} calls in {b['over']:g} s onto {b['agents']} agents,"
        f" {b['ghosts']} never answer ({', '.join(burst['ghosts'])})"
    )
    print(
        f"answer {b['answer_delay'][0]:g}-{b['answer_delay'][1]:g} s, talk"
        f" {b['talk'][0]:g}-{b['talk'][1]:g} s, wrap-up {b['wrap_up']:g} s; ring n = answered"
        " within (n-1)*5..n*5 s of arrival"
    )
    print(f"{'answered in ring':22} {'router':>8} {'naive':>8}")
    for label, _, _ in BUCKETS:
        print(f"{'  ' + label:22} {ours['histogram'][label]:8} {naive['histogram'][label]:8}")
    rows: list[tuple[str, str, str]] = [
        ("answered by system", str(ours["system_answered"]), str(naive["system_answered"])),
        ("never answered", str(ours["never_answered"]), str(naive["never_answered"])),
        (
            "max time to answer",
            f"{ours['max_time_to_answer_s']:.1f} s",
            f"{naive['max_time_to_answer_s']:.0f} s",
        ),
        (
            "held wait for agent p50",
            f"{ours['held_wait_p50_s']:.0f} s",
            "-",
        ),
        ("held wait for agent max", f"{ours['held_wait_max_s']:.0f} s", "-"),
        (
            "reached agent p50/p90",
            f"{ours['reach_agent_p50_s']:.0f}/{ours['reach_agent_p90_s']:.0f} s",
            f"{naive['reach_agent_p50_s']:.0f}/{naive['reach_agent_p90_s']:.0f} s",
        ),
        (
            "reached agent max",
            f"{ours['reach_agent_max_s']:.0f} s",
            f"{naive['reach_agent_max_s']:.0f} s",
        ),
        (
            "offers (to ghosts)",
            f"{ours['offers']} ({ours['ghost_offers']})",
            f"{naive['offers']} ({naive['ghost_offers']})",
        ),
        ("real agents auto-paused", str(ours["real_agents_auto_paused"]), "-"),
    ]
    for name, a, n in rows:
        print(f"{name:22} {a:>8} {n:>8}")
    for note in ours["notes"] + naive["notes"]:
        print(f"note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller corpus, shorter phases")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--no-log", action="store_true", help="part 2 without the production INFO log handler"
    )
    parser.add_argument("--exact-sim", action="store_true", help="no shortcut in part 3 (slow)")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: the FastAGI client
    args = parser.parse_args()
    if args.client:
        plan = ClientPlan(**json.loads(args.client))
        print(json.dumps(asyncio.run(client_main(plan))), flush=True)
        return
    events = 50_000 if args.quick else 200_000
    seconds = 1.5 if args.quick else 5.0
    phases = [("100", 100.0), ("500", 500.0), ("2000", 2000.0), ("max", 0.0)]

    emit(f"building the replay corpus ({events:,} events)")
    data, n_events = replay.build_stream(events)
    emit("1. baseline")
    baseline = measure_baseline(data, n_events, 3)
    emit("2. routing over FastAGI")
    routing = measure_routing(data, phases, seconds, FEED_RATE, args.seed, not args.no_log)
    del data
    emit("   decide() alone")
    cases = [(50, 50, 1, 2000, 3), (20, 0, 300, 1, 3)]
    if not args.quick:
        cases.append((50, 0, 1000, 1, 1))
    costs = [time_decide(*case) for case in cases]
    emit("3. burst simulation")
    burst = measure_burst(Burst(), args.seed, args.exact_sim)

    print_report(baseline, not args.no_log, routing, costs, burst, FEED_RATE)
    result = {
        "quick": args.quick,
        "seed": args.seed,
        "baseline": {
            "events": baseline.events,
            "eps": round(baseline.eps),
            "us_per_event": round(baseline.us_per_event, 3),
        },
        "routing": {
            "agents": AGENTS,
            "info_log": not args.no_log,
            "feed_target_eps": FEED_RATE,
            "phase_seconds": seconds,
            "phases": [
                {
                    "target": ph.label,
                    **ph.client,
                    "p50_over_event": round(ph.client["p50_ms"] * 1e3 / baseline.us_per_event, 1),
                    "handler_p50_us": round(ph.handler_p50_us, 1),
                    "handler_p99_us": round(ph.handler_p99_us, 1),
                    "feed_eps": round(ph.feed_eps),
                    "feed_skipped": ph.feed_skipped,
                    "server_cpu_share": ph.cpu_share,
                    "machine_busy_cores": ph.machine_cores,
                    "agi_failures": ph.agi_failures,
                    "agents_busy_after": ph.not_available_after,
                    "waiting_after": ph.waiting_after,
                }
                for ph in routing
            ],
        },
        "decide": [
            {
                "agents": cost.agents,
                "free": cost.free,
                "waiting": cost.waiting,
                "per_decision_us": cost.per_decision * 1e6,
                "per_decision_over_event": cost.per_decision * 1e6 / baseline.us_per_event,
                "round_ms": cost.round_seconds * 1e3,
            }
            for cost in costs
        ],
        "burst": burst,
    }
    print("JSON " + json.dumps(rounded(result), ensure_ascii=False))


def rounded(value: object) -> object:
    """Floats to 3 decimals, all the way down (JSON line readable, nothing lost that matters)."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


if __name__ == "__main__":
    main()
