"""Push, not poll, on the real stack: a 40-call burst onto softphone agents, the router
beside plain app_queue on the same Asterisk, dialplan and phones, in one run.

    CALLCENTER_TEST_SLOT=3 .venv/bin/python bench/routing_push.py [--calls 40] [--burst 20]
        [--talk 15] [--wrap-up 10] [--window 60] [--runs router,poll,app_queue]

One Asterisk instance (the test runtime, `bench-push<slot>`, the slot's test ports:
never beside the same slot's integration tests), 8 agents on baresip (6 pick up 2 s
after their phone starts ringing and hang up `--talk` seconds later, 2 never pick
up), `--calls` callers on baresip dialling the inbound number evenly over
`--burst` seconds and staying on the line. Three runs on the same phones:

- **router**: the whole app (`create_app`, SQLite) with `--wrap-up` seconds of
  wrap-up, the router answering the dialplan over FastAGI and pushing held callers;
- **poll**: the same with the pusher switched off (in-process), so a waiting caller
  gets a free agent only at its own next ask (the router before push);
- **app_queue**: the app stopped, so the dialplan's fallback (`Queue`, the ring
  budget, the system answer, then `Queue` again) serves the callers, with the 8
  agents as members and the same wrap-up as app_queue's own `wrapuptime`.

Every number comes from AMI event timestamps (and, for the router, its agent state
log): an agent is *free* at the end of its wrap-up (router: the wrap_up -> available
transition, and the nominal end = call end + wrap-up; app_queue: agent hang-up +
wrapuptime); its phone *rings* at the next DialBegin to it. A caller *waits* from
their arrival (Newchannel) until an agent picks up for them (the agent leg's
Newstate Up) or the run ends. Printed: free -> ring p50/max over the frees that
had a caller waiting, the seconds answering agents were free while a caller
waited, callers reaching an agent within `--window` seconds of arriving, and
callers first answered (agent or system) within the ring budget. Nothing is
asserted; progress on stderr, the table and a `JSON {...}` line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from callcenter.app import create_app  # noqa: E402
from callcenter.config import Config, DatabaseConfig  # noqa: E402
from callcenter.kernel.migrate import upgrade_to_head  # noqa: E402
from callcenter.routing.keys import ROUTER  # noqa: E402
from callcenter.routing.push import Pusher  # noqa: E402
from callcenter.routing.service import PushOrder  # noqa: E402
from tests.support.asterisk_fixtures import (  # noqa: E402
    AUTH_HEADERS,
    PHONE_PORT_BASE,
    SLOT,
    TestAsterisk,
    make_test_config,
    start_test_asterisk,
    stop_test_asterisk,
)
from tests.support.raw_ami import Message, RawAmi  # noqa: E402
from tests.support.softphone import Softphone, SoftphoneError, make_wav, stop_all  # noqa: E402

ANSWERING = tuple(f"10{n:02d}" for n in range(1, 7))  # pick up after ANSWER_AFTER
SILENT = ("1007", "1008")  # never pick up
AGENTS = ANSWERING + SILENT
ANSWER_AFTER = 2.0


def emit(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (None when there is nothing to rank)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


# -- the stage: one Asterisk with extra endpoints, the phones ----------------------------


def callers(count: int) -> list[str]:
    return [f"3{n:03d}" for n in range(1, count + 1)]


def add_endpoints(asterisk: TestAsterisk, count: int, wrap_up: float) -> None:
    """Agents 1005-1008 and the callers as static endpoints of this instance (the app's
    provisioning leaves endpoints pjsip.conf defines alone), and app_queue's own
    wrap-up for the baseline."""
    pjsip = asterisk.instance.config_dir / "pjsip.conf"
    sections = ["", "; bench/routing_push.py"]
    for user, template in [(a, "agent") for a in AGENTS[4:]] + [
        (c, "caller") for c in callers(count)
    ]:
        sections += [
            f"[{user}]({template}-endpoint)",
            f"auth = {user}",
            f"aors = {user}",
            f"[{user}](auth-base)",
            f"username = {user}",
            f"[{user}](aor-base)",
        ]
    pjsip.write_text(pjsip.read_text() + "\n".join(sections) + "\n")
    queues = asterisk.instance.config_dir / "queues.conf"
    text, n = re.subn(r"(?m)^wrapuptime = .*$", f"wrapuptime = {wrap_up:g}", queues.read_text())
    if n != 1:
        raise SystemExit("queues.conf has no wrapuptime line to set")
    queues.write_text(text)


async def start_phones(
    asterisk: TestAsterisk, work: Path, talk: float, count: int
) -> dict[str, Softphone]:
    agent_mic = make_wav(work / "agent-mic.wav", talk)  # a tone: the agent hangs up at its end
    caller_mic = make_wav(work / "caller-mic.wav", 600.0, freq=330)
    phones: dict[str, Softphone] = {}
    for n, user in enumerate([*AGENTS, *callers(count)]):
        phones[user] = Softphone(
            user,
            user,
            asterisk.sip_password,
            PHONE_PORT_BASE + 4 * n,
            asterisk.sip_port,
            agent_mic if user in AGENTS else caller_mic,
            workdir=work / "phones" / user,
            auto_answer=False,
        )
    users = list(phones)
    for start in range(0, len(users), 8):  # a few at a time: registration is quick
        await asyncio.gather(*(phones[u].start(within=20) for u in users[start : start + 8]))
    return phones


async def answer_after(phone: Softphone, delay: float) -> None:
    """Pick up every incoming call `delay` seconds after it starts ringing."""
    seen = len(phone.events)
    while True:
        await phone.wait_event("CALL_INCOMING", 3600, since=seen)
        seen = next(
            i + 1
            for i in range(len(phone.events) - 1, seen - 1, -1)
            if phone.events[i].get("type") == "CALL_INCOMING"
        )
        await asyncio.sleep(delay)
        with contextlib.suppress(SoftphoneError):  # the ring may have ended meanwhile
            await phone.answer()


# -- one run -----------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    started: float
    ended: float = 0.0
    events: list[Message] = field(default_factory=list)
    frees: dict[str, list[float]] = field(default_factory=dict)  # staff -> free moments
    nominal_frees: dict[str, list[float]] = field(default_factory=dict)
    pushes: int | None = None
    push_failures: int | None = None


async def burst(
    phones: dict[str, Softphone], number: str, count: int, spread: float, ami: RawAmi
) -> None:
    t0 = time.monotonic()
    for n, user in enumerate(callers(count)):
        await asyncio.sleep(max(0.0, t0 + n * spread / max(1, count - 1) - time.monotonic()))
        await phones[user].dial(number)
    emit(f"  {count} calls placed in {time.monotonic() - t0:.1f} s")


async def hang_up_everything(ami: RawAmi) -> None:
    await ami.action("Hangup", Channel="/^PJSIP\\//", Cause="16")
    for _ in range(100):
        channels = await ami.list_action("CoreShowChannels")
        if not channels:
            return
        await asyncio.sleep(0.2)


async def run_router(
    asterisk: TestAsterisk,
    config: Config,
    phones: dict[str, Softphone],
    args: argparse.Namespace,
    *,
    push: bool,
) -> Run:
    """The whole app; `push` False: the pusher never pushes, so waiting callers get an
    agent only when they ask (the router as it was before push)."""
    client = TestClient(TestServer(create_app(config)), headers=AUTH_HEADERS)
    original = Pusher.push_now
    if not push:

        async def no_push(self: Pusher) -> list[PushOrder]:
            return []

        Pusher.push_now = no_push  # type: ignore[method-assign]
    await client.start_server()
    try:
        for _ in range(100):
            if (await client.get("/readyz")).status == 200:
                break
            await asyncio.sleep(0.1)
        for staff_no in AGENTS:  # 1001 logs in first: the longest idle
            response = await client.post(
                "/api/agents", json={"staff_no": staff_no, "name": staff_no, "endpoint": staff_no}
            )
            if response.status not in (201, 409):
                raise SystemExit(f"agent {staff_no} not added: {await response.text()}")
            response = await client.post(f"/api/agents/{staff_no}/login")
            if response.status != 200:
                raise SystemExit(f"agent {staff_no} not logged in: {await response.text()}")
            await asyncio.sleep(0.05)
        run = await drive(asterisk, phones, args, "router" if push else "poll")
        stats = client.server.app[ROUTER].stats
        run.pushes, run.push_failures = stats.pushes, stats.push_failures
        for staff_no in ANSWERING:
            log = (await (await client.get(f"/api/agents/{staff_no}/states")).json())["transitions"]
            run.frees[staff_no] = [
                t["at"] for t in log if (t["old"], t["new"]) == ("wrap_up", "available")
            ]
            run.nominal_frees[staff_no] = [
                t["at"] + args.wrap_up
                for t in log
                if (t["old"], t["new"]) == ("on_call", "wrap_up")
            ]
        for staff_no in AGENTS:
            await client.post(f"/api/agents/{staff_no}/logout")
        return run
    finally:
        await client.close()
        Pusher.push_now = original  # type: ignore[method-assign]


async def run_app_queue(
    asterisk: TestAsterisk, phones: dict[str, Softphone], args: argparse.Namespace
) -> Run:
    async with asterisk.ami() as ami:
        for event in await ami.list_action("QueueStatus"):
            if event.get("Event") == "QueueMember":
                await ami.action(
                    "QueueRemove", Queue="support", Interface=event.get("StateInterface", "")
                )
        for staff_no in AGENTS:
            await ami.action("QueueAdd", Queue="support", Interface=f"PJSIP/{staff_no}")
    run = await drive(asterisk, phones, args, "app_queue")
    # app_queue's wrap-up runs from the end of an answered call (the first sign of it on
    # the agent's leg: leaving the bridge, a hang-up request, the hang-up).
    talked = {
        e.get("Uniqueid")
        for e in run.events
        if e.get("Event") == "Newstate" and e.get("ChannelStateDesc") == "Up"
    }
    ended: dict[str, tuple[str, float]] = {}
    for e in run.events:
        staff_no = _endpoint(e.get("Channel")) or ""
        uniqueid = e.get("Uniqueid", "")
        if (
            e.get("Event") in ("BridgeLeave", "HangupRequest", "SoftHangupRequest", "Hangup")
            and staff_no in ANSWERING
            and uniqueid in talked
            and uniqueid not in ended
        ):
            ended[uniqueid] = (staff_no, _stamp(e))
    for staff_no in ANSWERING:
        ends = sorted(at + args.wrap_up for who, at in ended.values() if who == staff_no)
        run.frees[staff_no] = ends
        run.nominal_frees[staff_no] = ends
    async with asterisk.ami() as ami:
        for staff_no in AGENTS:
            await ami.action("QueueRemove", Queue="support", Interface=f"PJSIP/{staff_no}")
    return run


async def drive(
    asterisk: TestAsterisk, phones: dict[str, Softphone], args: argparse.Namespace, name: str
) -> Run:
    emit(f"{name}: {args.calls} calls over {args.burst:g} s")
    answering = [asyncio.create_task(answer_after(phones[a], ANSWER_AFTER)) for a in ANSWERING]
    async with asterisk.ami() as ami:
        run = Run(name, time.time())
        try:
            number = asterisk.config.asterisk.inbound_number
            await burst(phones, number, args.calls, args.burst, ami)
            await asyncio.sleep(max(0.0, run.started + args.burst + args.window - time.time()))
            run.ended = time.time()
            await hang_up_everything(ami)
        finally:
            for task in answering:
                task.cancel()
            await asyncio.gather(*answering, return_exceptions=True)
        await asyncio.sleep(1.0)
        run.events = list(ami.events)
    return run


# -- what the events say -----------------------------------------------------------------


def _endpoint(channel: str | None) -> str | None:
    match = re.match(r"PJSIP/(.+)-[0-9a-f]+$", channel or "")
    return match.group(1) if match else None


def _stamp(event: Message) -> float:
    return float(event.get("Timestamp") or 0.0)


def overlap(
    intervals: Iterable[tuple[float, float]], others: Sequence[tuple[float, float]]
) -> float:
    """Seconds of `intervals` covered by the union of `others`."""
    merged: list[list[float]] = []
    for start, end in sorted(others):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    total = 0.0
    for start, end in intervals:
        for m_start, m_end in merged:
            total += max(0.0, min(end, m_end) - max(start, m_start))
    return total


def summarize(run: Run, args: argparse.Namespace, budget: float) -> dict[str, Any]:
    caller_set = set(callers(args.calls))
    arrived: dict[str, float] = {}  # caller linkedid -> arrival
    system: dict[str, float] = {}
    agent_legs: dict[str, tuple[str, str]] = {}  # agent uniqueid -> (caller linkedid, staff)
    rings: dict[str, list[float]] = {a: [] for a in AGENTS}
    reached: dict[str, float] = {}
    for e in run.events:
        kind, at = e.get("Event"), _stamp(e)
        if kind == "Newchannel" and _endpoint(e.get("Channel")) in caller_set:
            if e.get("Uniqueid") == e.get("Linkedid"):
                arrived[e["Linkedid"]] = at
        elif kind == "DialBegin" and _endpoint(e.get("DestChannel")) in AGENTS:
            staff = _endpoint(e.get("DestChannel")) or ""
            rings[staff].append(at)
            agent_legs[e.get("DestUniqueid", "")] = (e.get("Linkedid", ""), staff)
        elif kind == "Newstate" and e.get("ChannelStateDesc") == "Up":
            leg = agent_legs.get(e.get("Uniqueid", ""))
            if leg is not None and leg[0] in arrived:
                reached.setdefault(leg[0], at)
        elif kind == "UserEvent" and e.get("UserEvent") == "SystemAnswer":
            system.setdefault(e.get("Linkedid") or e.get("Uniqueid", ""), at)
    waits = [(arrived[c], reached.get(c, run.ended)) for c in arrived]

    def waiting_at(t: float) -> bool:
        return any(start <= t < end for start, end in waits)

    def free_to_ring(frees: dict[str, list[float]]) -> tuple[list[float], float, int]:
        deltas: list[float] = []
        idle: list[tuple[float, float]] = []
        never = 0
        for staff, moments in frees.items():
            for free in moments:
                if free >= run.ended or not waiting_at(free):
                    continue
                # (app_queue's own clock for the wrap-up may run a hair ahead of the event)
                nxt = next((r for r in sorted(rings[staff]) if r >= free - 0.5), None)
                if nxt is None or nxt > run.ended:
                    never += 1
                    idle.append((free, run.ended))
                    continue
                deltas.append(nxt - free)  # signed: app_queue's wrap-up clock is its own
                idle.append((free, max(free, nxt)))
        return deltas, overlap(idle, waits), never

    deltas, idle, never = free_to_ring(run.frees)
    nominal, nominal_idle, _ = free_to_ring(run.nominal_frees)
    first_answer = {
        c: min(t for t in (reached.get(c), system.get(c)) if t is not None)
        for c in arrived
        if c in reached or c in system
    }
    return {
        "run": run.name,
        "calls": len(arrived),
        "free_to_ring_p50": percentile(deltas, 50),
        "free_to_ring_max": max(deltas) if deltas else None,
        "frees_with_callers_waiting": len(deltas) + never,
        "frees_never_rung": never,
        "nominal_free_to_ring_p50": percentile(nominal, 50),
        "nominal_free_to_ring_max": max(nominal) if nominal else None,
        "agent_idle_while_waiting_s": round(idle, 2),
        "nominal_agent_idle_while_waiting_s": round(nominal_idle, 2),
        "reached_agent_within_window": sum(
            1 for c, t in reached.items() if t - arrived[c] <= args.window
        ),
        "reached_agent": len(reached),
        "first_answer_within_budget": sum(
            1 for c, t in first_answer.items() if t - arrived[c] <= budget + 0.5
        ),
        "answered_by_system": len(system),
        "rings_to_silent_agents": sum(len(rings[a]) for a in SILENT),
        "pushes": run.pushes,
        "push_failures": run.push_failures,
    }


def print_report(results: list[dict[str, Any]], args: argparse.Namespace, budget: float) -> None:
    def cell(value: Any, unit: str = "") -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.2f}{unit}"
        return f"{value}{unit}"

    print(
        f"## Push vs app_queue: {args.calls} calls over {args.burst:g} s onto 8 agents"
        f" (6 pick up after {ANSWER_AFTER:g} s and talk {args.talk:g} s, 2 never pick up),"
        f" wrap-up {args.wrap_up:g} s, ring budget {budget:g} s, window {args.window:g} s"
    )
    rows = [
        ("agent free -> caller's agent phone rings, p50", "free_to_ring_p50", " s"),
        ("agent free -> caller's agent phone rings, max", "free_to_ring_max", " s"),
        ("  same, from the nominal wrap-up end, p50", "nominal_free_to_ring_p50", " s"),
        ("  same, from the nominal wrap-up end, max", "nominal_free_to_ring_max", " s"),
        ("frees with a caller waiting (never rung)", "frees_with_callers_waiting", ""),
        ("agent-idle seconds while callers waited", "agent_idle_while_waiting_s", " s"),
        ("  same, from the nominal wrap-up end", "nominal_agent_idle_while_waiting_s", " s"),
        (f"callers reaching an agent within {args.window:g} s", "reached_agent_within_window", ""),
        ("callers reaching an agent in the run", "reached_agent", ""),
        (f"first answered (agent or system) <= {budget:g} s", "first_answer_within_budget", ""),
        ("answered by the system", "answered_by_system", ""),
        ("rings to the 2 silent agents", "rings_to_silent_agents", ""),
        ("pushes (Redirects) / failed", "pushes", ""),
    ]
    names = [r["run"] for r in results]
    print(f"{'':52}" + "".join(f"{n:>12}" for n in names))
    for label, key, unit in rows:
        values = [cell(r[key], unit) for r in results]
        if key == "pushes":
            values = [
                "-" if r["pushes"] is None else f"{r['pushes']}/{r['push_failures']}"
                for r in results
            ]
        never = [r["frees_never_rung"] for r in results] if key.startswith("frees_") else None
        if never is not None:
            values = [f"{v} ({n})" for v, n in zip(values, never, strict=True)]
        print(f"{label:52}" + "".join(f"{v:>12}" for v in values))
    print("JSON " + json.dumps({"args": vars(args), "slot": SLOT, "results": results}))


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"cc-bench-push{SLOT}-"))
    base = make_test_config(work / "instance", name=f"bench-push{SLOT}")
    config = dataclasses.replace(
        base,
        database=DatabaseConfig(
            url=f"sqlite+aiosqlite:///{work / 'callcenter.db'}", spool_path=work / "spool.jsonl"
        ),
        router=dataclasses.replace(base.router, wrap_up_seconds=args.wrap_up),
    )
    emit(f"Asterisk instance {config.asterisk.instance_name!r}, work dir {work}")
    asterisk = await asyncio.to_thread(start_test_asterisk, config)
    phones: dict[str, Softphone] = {}
    try:
        add_endpoints(asterisk, args.calls, args.wrap_up)
        async with asterisk.ami() as ami:
            await ami.command("module reload res_pjsip.so")
            await ami.command("module reload app_queue.so")
        await upgrade_to_head(config.database.url)
        phones = await start_phones(asterisk, work, args.talk, args.calls)
        emit(f"{len(phones)} softphones registered")
        budget = config.ring.budget_seconds
        results = []
        for name in args.runs.split(","):
            if name in ("router", "poll"):
                run = await run_router(asterisk, config, phones, args, push=name == "router")
            elif name == "app_queue":
                run = await run_app_queue(asterisk, phones, args)
            else:
                raise SystemExit(f"unknown run {name!r}: router, poll, app_queue")
            results.append(summarize(run, args, budget))
            emit(f"{name}: {results[-1]}")
            await asyncio.sleep(2.0)
        print_report(results, args, budget)
    finally:
        await stop_all(list(phones.values()))
        await asyncio.to_thread(stop_test_asterisk, asterisk)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--burst", type=float, default=20.0, help="seconds to place the calls")
    parser.add_argument("--talk", type=float, default=15.0, help="seconds an agent talks")
    parser.add_argument("--wrap-up", type=float, default=10.0, help="seconds of wrap-up")
    parser.add_argument("--window", type=float, default=60.0, help="reach an agent within")
    parser.add_argument(
        "--runs",
        default="router,poll,app_queue",
        help="router (push), poll (the router without push), app_queue; comma-separated",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
