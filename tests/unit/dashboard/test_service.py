"""The dashboard service: coalescing (a burst is one update, never held past the window),
ticks that notice roster changes, wrap-ups that trigger a re-read of open cases."""

from __future__ import annotations

import asyncio
import json

from callcenter.agents.domain import Agent, AgentBoard, AgentState, Transition
from callcenter.ami.message import Message
from callcenter.config import RingConfig
from callcenter.dashboard.definitions import MetricSettings
from callcenter.dashboard.live import LiveModel
from callcenter.dashboard.service import DashboardService
from callcenter.dashboard.store import FlagRow, OpenCase
from callcenter.kernel.fanout import Broadcaster


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Queries:
    """The `service.Queries` protocol over lists (DashboardQueries itself is tested on
    SQLite and PostgreSQL in tests/integration/dashboard/test_store.py)."""

    def __init__(self) -> None:
        self.case_reads = 0
        self.cases: list[OpenCase] = []

    async def compliance_since(self, since: float) -> list[FlagRow]:
        return [FlagRow("1001", "L1", ("dead-air",), since + 10)]

    async def open_complaints(self) -> list[OpenCase]:
        self.case_reads += 1
        return list(self.cases)


def service(
    coalesce: float = 0.1, queries: Queries | None = None
) -> tuple[DashboardService, Clock, AgentBoard]:
    clock = Clock(1_000_000.0)
    board = AgentBoard()
    board.add(Agent("1001", "Li", "1001"))
    svc = DashboardService(
        LiveModel(MetricSettings(RingConfig())),
        board,
        Broadcaster(maxsize=16),
        clock=clock,
        coalesce=coalesce,
        queries=queries,
    )
    return svc, clock, board


def caller(linkedid: str, at: float) -> Message:
    return Message(
        {
            "Event": "Newchannel",
            "Timestamp": str(at),
            "Linkedid": linkedid,
            "Uniqueid": linkedid,
            "Context": "from-callers",
        }
    )


async def test_a_burst_is_one_update_and_the_next_waits_at_most_the_window() -> None:
    svc, clock, _ = service(coalesce=0.1)
    sub = svc.broadcaster.subscribe()
    for n in range(50):
        svc.on_event(caller(f"L{n}", clock.now))
    await asyncio.sleep(0)  # the first change after a quiet spell goes at once
    (first,) = sub.drain()
    assert json.loads(first)["center"]["waiting"] == 50
    svc.on_event(caller("late", clock.now))
    await asyncio.sleep(0.02)
    assert sub.drain() == []  # inside the window: held back...
    await asyncio.sleep(0.15)
    (second,) = sub.drain()  # ...and sent at its end, not later
    assert json.loads(second)["center"]["waiting"] == 51
    assert json.loads(second)["seq"] == json.loads(first)["seq"] + 1


async def test_events_that_change_nothing_send_nothing() -> None:
    svc, _, _ = service()
    sub = svc.broadcaster.subscribe()
    svc.on_event(Message({"Event": "Newexten", "Linkedid": "X", "Uniqueid": "X"}))
    svc.on_event(Message({"Event": "VarSet", "Linkedid": "X", "Uniqueid": "X"}))
    await asyncio.sleep(0.05)
    assert sub.drain() == []


async def test_tick_notices_agent_changes_made_behind_its_back() -> None:
    svc, clock, board = service(coalesce=0.0)
    sub = svc.broadcaster.subscribe()
    svc.tick()
    await asyncio.sleep(0)
    sub.drain()
    svc.tick()
    await asyncio.sleep(0)
    assert sub.drain() == []  # nothing moved
    board.login("1001", clock.now)  # e.g. a path that did not tell the watchers
    svc.tick()
    await asyncio.sleep(0)
    (update,) = sub.drain()
    (agent,) = json.loads(update)["agents"]
    assert agent["state"] == "available"


async def test_load_and_a_filed_wrap_up_reread_the_open_cases() -> None:
    queries = Queries()
    svc, clock, _ = service(queries=queries)
    queries.cases = [OpenCase(7, "1001", "2001", clock.now - 47 * 3600, clock.now + 3600)]
    await svc.load()
    assert queries.case_reads == 1
    snap = svc.snapshot()
    assert [c["id"] for c in snap["cases"]] == [7]
    assert snap["agents"][0]["flags"] == {"dead-air": 1}
    runner = asyncio.create_task(svc.run_cases())
    queries.cases = []
    svc.on_transitions(
        [Transition("1001", clock.now, AgentState.WRAP_UP, AgentState.AVAILABLE, "wrap-up-done")]
    )
    for _ in range(40):
        if queries.case_reads >= 2:
            break
        await asyncio.sleep(0.1)
    runner.cancel()
    assert queries.case_reads == 2
    assert svc.snapshot()["cases"] == []
