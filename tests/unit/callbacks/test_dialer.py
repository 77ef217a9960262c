"""The dialler's decisions that need no Asterisk: who goes first, what an outcome is."""

from __future__ import annotations

from typing import Any

from callcenter.agents.domain import Agent, AgentBoard
from callcenter.callbacks.dialer import Dialler, outcome_of
from callcenter.callbacks.schedule import Outcome, SchedulerSettings
from callcenter.routing.decide import WaitingCall


class _Repo:
    def __init__(self) -> None:
        self.claims = 0

    async def counts(self, now: float) -> tuple[int, int]:
        return (7, 2)

    async def claim(self, *args: Any, **kwargs: Any) -> list[Any]:
        self.claims += 1
        return []


class _Ami:
    connected = True


class _Router:
    def __init__(self) -> None:
        self.board = AgentBoard()
        self.board.add(Agent("1001", "A", "1001", frozenset({"outbound"})))
        self.board.login("1001", 0.0)
        self.waiting: dict[str, WaitingCall] = {}


def _dialler(repo: _Repo, router: _Router) -> Dialler:
    return Dialler(
        repo,  # type: ignore[arg-type]
        router,  # type: ignore[arg-type]
        _Ami(),  # type: ignore[arg-type]
        SchedulerSettings(),
        skill="outbound",
        instance="test",
        agent_ring_seconds=10,
        caller_id="4008000000",
    )


async def test_no_callback_is_dialled_while_a_caller_waits_live() -> None:
    repo, router = _Repo(), _Router()
    router.waiting["c1"] = WaitingCall("c1", arrived_at=0.0, skill="support")
    dialler = _dialler(repo, router)
    assert await dialler.tick() is None
    assert repo.claims == 0  # not even claimed: the live caller keeps the turn
    assert (dialler.backlog, dialler.overdue) == (7, 2)  # counted for /metrics anyway
    # A caller already being rung to an agent is served; the callback may go.
    router.waiting["c1"] = WaitingCall("c1", arrived_at=0.0, dialling="1002")
    await _dialler(repo, router).tick()
    assert repo.claims == 1


async def test_no_callback_without_a_free_outbound_agent() -> None:
    repo, router = _Repo(), _Router()
    router.board.pause("1001", "break", 1.0)
    assert await _dialler(repo, router).tick() is None
    assert repo.claims == 0


def test_dial_statuses_map_to_attempt_outcomes() -> None:
    assert outcome_of("ANSWER") is Outcome.ANSWERED
    assert outcome_of("noanswer") is Outcome.NO_ANSWER
    assert outcome_of("BUSY") is Outcome.BUSY
    assert outcome_of("CHANUNAVAIL") is Outcome.FAILED
    assert outcome_of("") is None  # the customer was never dialled
