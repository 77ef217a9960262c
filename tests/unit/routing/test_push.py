"""Push, not poll (callcenter/routing/push.py, decide.pushes): a freed agent goes to the
oldest waiting call at once, through an AMI Redirect of its channel.

The decisions are pure; the router and the pusher run against a typed fake of our own
AMI client (`create_autospec`), with the clock moved by hand.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import replace
from typing import Any
from unittest.mock import create_autospec

import pytest

from callcenter.agents.domain import Agent, AgentBoard, AgentState, AgentStatus, Transition
from callcenter.agents.service import AgentService
from callcenter.agi.fastagi import AgiRequest
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiActionFailed
from callcenter.ami.message import Message
from callcenter.kernel.shifts import OpeningHours
from callcenter.routing.decide import (
    Ring,
    RouteSettings,
    WaitingCall,
    decide,
    pushes,
)
from callcenter.routing.push import PUSH_CONTEXT, PUSH_EXTEN, SENT_WITHIN, Pusher
from callcenter.routing.service import Router

T0 = 1_700_000_000.0
SETTINGS = RouteSettings()


# -- pure: which calls a free agent is pushed to ----------------------------------------


def _board(*staff: str, skills: dict[str, frozenset[str]] | None = None) -> AgentBoard:
    board = AgentBoard()
    for n, staff_no in enumerate(staff):
        own = (skills or {}).get(staff_no, frozenset({"support"}))
        board.add(Agent(staff_no, f"agent {staff_no}", f"ep{staff_no}", own))
        board.login(staff_no, T0 - 100 + n)
    return board


def _held(linkedid: str, offset: float, **changes: Any) -> WaitingCall:
    call = WaitingCall(linkedid=linkedid, arrived_at=T0 + offset, system_answered=True)
    return replace(call, **changes)


def test_two_agents_freed_at_once_go_to_the_two_oldest_held_callers_one_each() -> None:
    board = _board("1001", "1002")
    waiting = [_held("young", 30.0), _held("old", 0.0), _held("middle", 10.0)]
    out = pushes(waiting, board, T0 + 60, SETTINGS)
    assert [(p.call.linkedid, p.ring.agent.staff_no) for p in out] == [
        ("old", "1001"),  # the longest idle agent to the oldest caller
        ("middle", "1002"),
    ]
    # Held callers have no budget left to protect: each rings its full share.
    assert {p.ring.seconds for p in out} == {SETTINGS.max_ring_per_agent}


def test_no_push_for_a_call_being_rung_nor_with_no_agent_of_its_skill() -> None:
    board = _board("1001", skills={"1001": frozenset({"sales"})})
    waiting = [
        _held("support", 0.0),
        _held("rung", 1.0, skill="sales", dialling="1009"),
        _held("sales", 2.0, skill="sales"),
    ]
    out = pushes(waiting, board, T0 + 60, SETTINGS)
    assert [(p.call.linkedid, p.ring.agent.staff_no) for p in out] == [("sales", "1001")]
    assert pushes(waiting, _board(), T0 + 60, SETTINGS) == []


def test_a_ringing_caller_too_close_to_its_budget_keeps_its_agent_but_is_not_pushed() -> None:
    """Like `assign`: an older caller takes its pick even when it is about to be answered
    by the system (it asks again at once and gets the agent then)."""
    board = _board("1001")
    budget = SETTINGS.ring.budget_seconds
    late = WaitingCall("late", T0)  # ringing, not answered by the system
    younger = _held("younger", 1.0)
    now = T0 + budget - SETTINGS.margin - SETTINGS.min_ring + 0.1
    assert pushes([late, younger], board, now, SETTINGS) == []
    # Earlier, the ringing caller is pushed, for no more than its budget allows.
    (push,) = pushes([late, younger], board, T0 + 5.0, SETTINGS)
    assert push.call.linkedid == "late"
    assert push.ring.seconds <= budget - 5.0 - SETTINGS.margin


@pytest.mark.parametrize("seed", range(40))
def test_pushes_are_exactly_the_calls_decide_would_ring(seed: int) -> None:
    rng = random.Random(seed)
    skills = ("support", "sales")
    board = AgentBoard()
    for n in range(rng.randint(0, 6)):
        staff_no = f"10{n:02d}"
        own = frozenset(rng.sample(skills, rng.randint(1, 2)))
        board.add(Agent(staff_no, staff_no, f"ep{staff_no}", own))
        board.login(staff_no, T0 - rng.uniform(0, 100))
        if rng.random() < 0.3:
            board.offer(staff_no, "elsewhere", T0)
    now = T0 + 40.0
    waiting = [
        WaitingCall(
            linkedid=f"c{n}",
            arrived_at=now - rng.uniform(0, 60),
            skill=rng.choice(skills),
            system_answered=rng.random() < 0.5,
            tried=frozenset(rng.sample(sorted(board.agents), min(len(board.agents), 1)))
            if rng.random() < 0.3
            else frozenset(),
            owner=rng.choice([None, *board.agents]),
            dialling="1099" if rng.random() < 0.15 else None,
        )
        for n in range(rng.randint(0, 12))
    ]
    pushed = {p.call.linkedid: p.ring for p in pushes(waiting, board, now, SETTINGS)}
    for call in waiting:
        if call.dialling is not None:
            assert call.linkedid not in pushed
            continue
        decision = decide(call, waiting, board, now, SETTINGS)
        if isinstance(decision, Ring):
            assert pushed.get(call.linkedid) == decision, call
        else:
            assert call.linkedid not in pushed, (call, decision)
    assert len({r.agent.staff_no for r in pushed.values()}) == len(pushed)  # one call each


# -- the router and the pusher: Redirects over a fake AMI client -------------------------


class _Repo:
    async def open_case_owner(self, caller: str) -> str | None:
        return None

    async def record(self, transitions: list[Transition], statuses: dict[str, AgentStatus]) -> None:
        return None


class _Clock:
    """Still unless `ticking_since` is set: then it runs with real time (the push loop
    sleeps in real time until a wrap-up ends)."""

    def __init__(self) -> None:
        self.now = T0
        self.ticking_since: float | None = None

    def __call__(self) -> float:
        if self.ticking_since is None:
            return self.now
        return self.now + time.monotonic() - self.ticking_since


class _Stack:
    def __init__(self, *staff: str, redirect_error: Exception | None = None) -> None:
        self.clock = _Clock()
        board = AgentBoard()
        for n, staff_no in enumerate(staff):
            board.add(Agent(staff_no, f"Agent {staff_no}", staff_no))
            board.login(staff_no, T0 - 100 + n)
        self.agents = AgentService(board, _Repo(), clock=self.clock)  # type: ignore[arg-type]
        self.ami = create_autospec(AmiClient, instance=True)
        self.ami.connected = True
        if redirect_error is not None:
            self.ami.action.side_effect = redirect_error
        self.router = Router(
            self.agents, RouteSettings(), OpeningHours(()), clock=self.clock, ami=self.ami
        )
        self.pusher = Pusher(self.router, self.ami)
        self.agents.watch(self.pusher.on_transitions)

    def state(self, staff_no: str) -> AgentState:
        return self.agents.board.status[staff_no].state

    async def ask(
        self, linkedid: str, *, rung: str = "", status: str = "", push: bool = False
    ) -> dict[str, str]:
        """The held caller's ask, from the hold loop or (push) from the push step."""
        args = [linkedid, "13800138000", f"{T0:.3f}", "support", status, rung, "1"]
        if push:
            args.append("push")
        env = {"agi_channel": f"PJSIP/2001-{linkedid}"}
        return dict(await self.router.route(AgiRequest("route", tuple(args), env)))

    def redirects(self) -> list[dict[str, Any]]:
        return [c.args[1] for c in self.ami.action.call_args_list if c.args[0] == "Redirect"]


async def _busy_with_wrap_up(stack: _Stack, staff_no: str, call: str) -> None:
    """`staff_no` took `call` and is now in wrap-up."""
    reply = await stack.ask(call)
    assert reply["CC_AGENT"] == staff_no
    await stack.router.connected(AgiRequest("connected", (call, staff_no), {}))
    for uniqueid, channel in ((f"{call}.1", f"PJSIP/{staff_no}-01"), (call, "PJSIP/2001-01")):
        stack.router.on_event(
            Message({"Event": "Hangup", "Uniqueid": uniqueid, "Linkedid": call, "Channel": channel})
        )
    assert stack.state(staff_no) is AgentState.WRAP_UP


async def test_the_wrap_up_ending_redirects_the_held_caller_who_then_dials_the_agent() -> None:
    stack = _Stack("1001")
    await _busy_with_wrap_up(stack, "1001", "first")
    assert (await stack.ask("held"))["CC_ACTION"] == "wait"  # nobody free: held
    assert await stack.pusher.push_now() == []

    stack.clock.now = T0 + 40
    stack.agents.commit(stack.agents.board.expire(stack.clock.now))  # the wrap-up ends
    orders = await stack.pusher.push_now()
    assert [(o.linkedid, o.staff_no) for o in orders] == [("held", "1001")]
    assert stack.redirects() == [
        {
            "Channel": "PJSIP/2001-held",
            "Context": PUSH_CONTEXT,
            "Exten": PUSH_EXTEN,
            "Priority": "1",
        }
    ]
    # The agent is offered at once: no other call or push can take them meanwhile.
    assert stack.state("1001") is AgentState.RINGING
    assert await stack.pusher.push_now() == []
    reply = await stack.ask("held", push=True)
    assert (reply["CC_ACTION"], reply["CC_AGENT"]) == ("dial", "1001")
    assert stack.router.stats.pushes == 1


async def test_the_loop_asking_while_the_redirect_is_under_way_waits_for_it() -> None:
    """The Redirect must land on a wait, never on a Dial the loop's own ask started."""
    stack = _Stack("1001")
    await _busy_with_wrap_up(stack, "1001", "first")
    await stack.ask("held")
    landed = asyncio.Event()

    async def slow_redirect(*args: Any, **kwargs: Any) -> Message:
        await landed.wait()
        return Message({"Response": "Success"})

    stack.ami.action.side_effect = slow_redirect
    stack.clock.now = T0 + 40
    stack.agents.commit(stack.agents.board.expire(stack.clock.now))
    pushing = asyncio.create_task(stack.pusher.push_now())
    await asyncio.sleep(0)
    loop_ask = await stack.ask("held", rung="1001")  # a stale CC_AGENT from an old ring
    assert loop_ask["CC_ACTION"] == "wait" and float(loop_ask["CC_TIMEOUT"]) <= 0.5
    assert stack.state("1001") is AgentState.RINGING  # still reserved for the push
    landed.set()
    await pushing
    assert (await stack.ask("held", push=True))["CC_AGENT"] == "1001"


async def test_a_failed_redirect_leaves_the_dial_to_the_callers_next_ask() -> None:
    stack = _Stack("1001", redirect_error=AmiActionFailed("Redirect", "Channel not found"))
    await _busy_with_wrap_up(stack, "1001", "first")
    await stack.ask("held")
    stack.clock.now = T0 + 40
    stack.agents.commit(stack.agents.board.expire(stack.clock.now))
    await stack.pusher.push_now()
    assert stack.router.stats.push_failures == 1
    reply = await stack.ask("held")  # the hold loop's next round
    assert (reply["CC_ACTION"], reply["CC_AGENT"]) == ("dial", "1001")


async def test_a_caller_who_hangs_up_before_the_push_lands_frees_the_agent() -> None:
    stack = _Stack("1001")
    await _busy_with_wrap_up(stack, "1001", "first")
    await stack.ask("gone")
    await stack.ask("next")
    stack.clock.now = T0 + 40
    stack.agents.commit(stack.agents.board.expire(stack.clock.now))
    (order,) = await stack.pusher.push_now()
    assert order.linkedid == "gone"
    stack.router.on_event(Message({"Event": "Hangup", "Uniqueid": "gone", "Linkedid": "gone"}))
    assert stack.state("1001") is AgentState.AVAILABLE
    assert await stack.ask("gone", push=True) == {"CC_ACTION": "gone"}
    # The freed agent goes on to the next held caller.
    stack.router.sweep_pushes(SENT_WITHIN, SENT_WITHIN)
    (order,) = await stack.pusher.push_now()
    assert (order.linkedid, order.staff_no) == ("next", "1001")
    assert (await stack.ask("next", push=True))["CC_AGENT"] == "1001"


async def test_two_agents_freeing_at_once_are_pushed_to_two_callers_each_once() -> None:
    stack = _Stack("1001", "1002")
    await _busy_with_wrap_up(stack, "1001", "a")
    await _busy_with_wrap_up(stack, "1002", "b")
    for call in ("h1", "h2", "h3"):
        await stack.ask(call)
    stack.clock.now = T0 + 40
    stack.agents.commit(stack.agents.board.expire(stack.clock.now))  # both end together
    # The wake is a flag: one pass pushes both, a second finds nothing left.
    first, second = await asyncio.gather(stack.pusher.push_now(), stack.pusher.push_now())
    orders = first + second
    assert sorted((o.linkedid, o.staff_no) for o in orders) == [("h1", "1001"), ("h2", "1002")]
    assert (await stack.ask("h3"))["CC_ACTION"] == "wait"


async def test_a_push_never_collected_frees_the_agent_for_the_next_caller() -> None:
    stack = _Stack("1001")
    await _busy_with_wrap_up(stack, "1001", "first")
    await stack.ask("lost")
    stack.clock.now = T0 + 40
    stack.agents.commit(stack.agents.board.expire(stack.clock.now))
    await stack.pusher.push_now()
    stack.clock.now += SENT_WITHIN - 0.1
    stack.router.sweep_pushes(SENT_WITHIN, 15.0)
    assert stack.state("1001") is AgentState.RINGING
    stack.clock.now += 0.2
    stack.router.sweep_pushes(SENT_WITHIN, 15.0)
    assert stack.state("1001") is AgentState.AVAILABLE
    # The call, if it is still there, asks again as usual and is not stuck on the old push.
    reply = await stack.ask("lost", push=True)
    assert (reply["CC_ACTION"], reply["CC_AGENT"]) == ("dial", "1001")


async def test_the_pusher_runs_on_a_transition_to_available_without_polling() -> None:
    stack = _Stack("1001")
    await _busy_with_wrap_up(stack, "1001", "first")
    await stack.ask("held")
    runner = asyncio.create_task(stack.pusher.run())
    try:
        await asyncio.sleep(0.05)
        assert stack.redirects() == []
        stack.clock.now = T0 + 40
        stack.agents.commit(stack.agents.board.expire(stack.clock.now))
        for _ in range(20):
            await asyncio.sleep(0.01)
            if stack.redirects():
                break
        assert [r["Channel"] for r in stack.redirects()] == ["PJSIP/2001-held"]
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner


async def test_a_failing_pass_does_not_end_pushing(caplog: pytest.LogCaptureFixture) -> None:
    stack = _Stack("1001")
    await _busy_with_wrap_up(stack, "1001", "first")
    await stack.ask("held")
    real_sweep = stack.router.sweep_pushes
    calls = 0

    def sweep_failing_once(sent_within: float, failed_within: float) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        real_sweep(sent_within, failed_within)

    stack.router.sweep_pushes = sweep_failing_once  # type: ignore[method-assign]
    runner = asyncio.create_task(stack.pusher.run())
    try:
        stack.pusher.wake()
        for _ in range(20):
            await asyncio.sleep(0.01)
            if calls:
                break
        assert "push pass failed" in caplog.text
        stack.clock.now = T0 + 40
        stack.agents.commit(stack.agents.board.expire(stack.clock.now))
        for _ in range(20):
            await asyncio.sleep(0.01)
            if stack.redirects():
                break
        assert [r["Channel"] for r in stack.redirects()] == ["PJSIP/2001-held"]
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner


async def test_a_wrap_up_ends_on_time_and_its_agent_is_pushed_at_once() -> None:
    """Not at the agent service's next half-second tick: at the wrap-up's end."""
    stack = _Stack("1001")
    await _busy_with_wrap_up(stack, "1001", "first")
    await stack.ask("held")
    until = stack.agents.board.status["1001"].wrap_up_until
    assert until is not None
    freed: list[Transition] = []
    stack.agents.watch(lambda ts: freed.extend(t for t in ts if t.new is AgentState.AVAILABLE))
    stack.clock.now = until - 0.2
    stack.clock.ticking_since = time.monotonic()
    runner = asyncio.create_task(stack.pusher.run())
    try:
        for _ in range(100):
            await asyncio.sleep(0.01)
            if stack.redirects():
                break
        assert [(t.old, t.reason) for t in freed] == [(AgentState.WRAP_UP, "wrap-up-timeout")]
        assert 0.0 <= freed[0].at - until < 0.1
        assert [r["Channel"] for r in stack.redirects()] == ["PJSIP/2001-held"]
        assert stack.state("1001") is AgentState.RINGING
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
