"""Who gets a call, and for how long it may ring: pure decisions.

State and clock in, decision out; the router service turns a decision into
what the dialplan does next (through the FastAGI reply). The rules:

- the ring budget (three rings of the cadence) counts from the call's
  arrival; an agent is rung for at most what is left of it, less a margin
  for the next step, and never for less than `min_ring` (a ring too short to
  answer only wastes the agent's time);
- waiting callers are served in arrival order: a free agent goes to the
  oldest waiting call that can use it, so a newer call never overtakes;
- a repeat caller goes first to the agent owning their open case (首問負責制)
  when that agent is free;
- among the rest, the longest-idle available agent with the call's skill;
- an agent who did not answer this call is not rung for it again while
  others are free;
- when the budget is spent without an answer, the system answers;
- `pushes`: the calls a freed agent goes to at once, without waiting for their
  next ask (exactly what `decide` would ring for each of them now).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from callcenter.agents.domain import Agent, AgentBoard
from callcenter.config import RingConfig


@dataclass(frozen=True)
class RouteSettings:
    ring: RingConfig = field(default_factory=RingConfig)
    max_ring_per_agent: float = 10.0  # one agent's share when others could answer
    min_ring: float = 2.0
    # Time the dialplan needs between our answer and its next step (AGI round
    # trip, Dial set-up); kept off every ring so the budget is never overrun.
    margin: float = 0.5
    wait_step: float = 1.0  # how long a caller rings with no agent free before asking again


@dataclass(frozen=True)
class WaitingCall:
    """A call waiting for an agent, as the router sees it."""

    linkedid: str
    arrived_at: float
    skill: str = "support"
    caller_number: str | None = None
    owner: str | None = None  # staff number owning the caller's open case
    tried: frozenset[str] = frozenset()  # agents who did not answer it
    system_answered: bool = False
    dialling: str | None = None  # agent being rung now


@dataclass(frozen=True)
class Ring:
    """Ring this agent for `seconds`."""

    agent: Agent
    seconds: float
    to_owner: bool = False


@dataclass(frozen=True)
class Wait:
    """Nobody free for this call yet: ring on (or hold, once answered) and ask again."""

    seconds: float
    position: int  # 1 = next in line


@dataclass(frozen=True)
class SystemAnswer:
    """The budget is spent: the system answers and keeps routing the call."""


@dataclass(frozen=True)
class Closed:
    """Outside opening hours: announce the hours and take a message."""


Decision = Ring | Wait | SystemAnswer | Closed


def budget_left(call: WaitingCall, now: float, ring: RingConfig) -> float:
    return call.arrived_at + ring.budget_seconds - now


def decide(
    call: WaitingCall,
    waiting: Sequence[WaitingCall],
    board: AgentBoard,
    now: float,
    settings: RouteSettings,
    *,
    open_now: bool = True,
    on_shift: Callable[[Agent], bool] | None = None,
) -> Decision:
    """The next step for `call`; `waiting` is every call waiting (it may include `call`)."""
    if not open_now and not call.system_answered:
        return Closed()
    left = budget_left(call, now, settings.ring)
    ringable = left - settings.margin
    if not call.system_answered and ringable < settings.min_ring:
        return SystemAnswer()
    agent = assign(call, waiting, board, on_shift)
    if agent is None:
        position = 1 + sum(1 for other in _ahead_of(call, waiting))
        if call.system_answered:
            return Wait(settings.wait_step, position)
        # Ring on, but never past the point where the system must answer.
        return Wait(min(settings.wait_step, max(0.0, ringable - settings.min_ring)), position)
    free = sum(1 for a, _ in board.available(call.skill) if on_shift is None or on_shift(a))
    return _ring(call, agent, ringable, free, settings)


@dataclass(frozen=True)
class Push:
    """A waiting call that an agent is free for now: hand it over without waiting for its
    next ask (the router redirects its channel into the dial step)."""

    call: WaitingCall
    ring: Ring


def pushes(
    waiting: Sequence[WaitingCall],
    board: AgentBoard,
    now: float,
    settings: RouteSettings,
    *,
    open_now: bool = True,
    on_shift: Callable[[Agent], bool] | None = None,
) -> list[Push]:
    """Every waiting call that `decide` would ring an agent for if it asked now, oldest first.

    One greedy pass in arrival order gives each call the pick `assign` gives it (a call's
    pick depends only on the older calls), so the result is exactly `decide` per call, in
    O(waiting) instead of O(waiting²) for a backlog of held callers. Calls being rung are
    skipped: their ring ending is what frees them."""
    free: dict[str, list[Agent]] = {}
    free_count: dict[str, int] = {}

    def free_for(skill: str) -> list[Agent]:
        if skill not in free:
            free[skill] = [a for a, _ in board.available(skill) if on_shift is None or on_shift(a)]
            free_count[skill] = len(free[skill])
        return free[skill]

    anyone = sum(1 for a, _ in board.available() if on_shift is None or on_shift(a))
    out: list[Push] = []
    taken: set[str] = set()
    for call in sorted((c for c in waiting if c.dialling is None), key=_order):
        if len(taken) >= anyone:
            break  # every free agent is spoken for: nobody younger can get one
        pick = _pick(call, free_for(call.skill), taken)
        if pick is None:
            continue
        # Like `assign`, an older call takes its pick even when `decide` would not ring it
        # (closed, or its budget too short: the dialplan answers it and it asks again).
        taken.add(pick.staff_no)
        if not open_now and not call.system_answered:
            continue
        ringable = budget_left(call, now, settings.ring) - settings.margin
        if not call.system_answered and ringable < settings.min_ring:
            continue
        out.append(Push(call, _ring(call, pick, ringable, free_count[call.skill], settings)))
    return out


def _ring(
    call: WaitingCall, agent: Agent, ringable: float, free: int, settings: RouteSettings
) -> Ring:
    """How long `agent` rings for `call`; `free` agents of its skill are available now."""
    if call.system_answered:
        # Answered already: no budget left to protect; the agent rings its full share.
        return Ring(agent, settings.max_ring_per_agent, to_owner=agent.staff_no == call.owner)
    seconds = min(ringable, settings.max_ring_per_agent) if free > 1 else ringable
    # Rounded down (the dialplan gets tenths): never a hair past the budget.
    return Ring(agent, math.floor(seconds * 10) / 10, to_owner=agent.staff_no == call.owner)


def assign(
    call: WaitingCall,
    waiting: Sequence[WaitingCall],
    board: AgentBoard,
    on_shift: Callable[[Agent], bool] | None = None,
) -> Agent | None:
    """The agent `call` gets after older calls have had their pick (greedy, arrival order).

    `on_shift` says whether an agent's shift covers now (agents off shift are
    never offered calls, even if they forgot to log out)."""
    free: dict[str, list[Agent]] = {}

    def free_for(skill: str) -> list[Agent]:
        # One sorted list per skill per decision: with hundreds of held calls
        # asking every second, re-sorting per older call is what would cost.
        if skill not in free:
            free[skill] = [a for a, _ in board.available(skill) if on_shift is None or on_shift(a)]
        return free[skill]

    if not free_for(call.skill):
        return None
    taken: set[str] = set()
    for other in sorted(_waiting_for_agent(waiting, call), key=_order):
        pick = _pick(other, free_for(other.skill), taken)
        if other.linkedid == call.linkedid:
            return pick
        if pick is not None:
            taken.add(pick.staff_no)
    return None


def _pick(call: WaitingCall, available: list[Agent], taken: set[str]) -> Agent | None:
    free = [a for a in available if a.staff_no not in taken]
    if not free:
        return None
    fresh = [a for a in free if a.staff_no not in call.tried]
    if call.owner is not None:
        # The owner first, unless they already let this call ring out.
        for agent in fresh or free:
            if agent.staff_no == call.owner:
                return agent
    # Everyone free already missed this call: ring them again rather than nobody.
    return (fresh or free)[0]


def _order(call: WaitingCall) -> tuple[float, str]:
    return (call.arrived_at, call.linkedid)


def _waiting_for_agent(waiting: Iterable[WaitingCall], call: WaitingCall) -> list[WaitingCall]:
    calls = {c.linkedid: c for c in waiting if c.dialling is None}
    calls[call.linkedid] = call
    return list(calls.values())


def _ahead_of(call: WaitingCall, waiting: Iterable[WaitingCall]) -> Iterable[WaitingCall]:
    return (
        other
        for other in waiting
        if other.linkedid != call.linkedid
        and other.skill == call.skill
        and _order(other) < _order(call)
    )
