"""The dialer without Asterisk: when it may dial, and who owns the tasks it starts."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from callcenter.agents.domain import Agent, AgentBoard
from callcenter.ami.message import Message
from callcenter.callbacks.dialer import Dialer
from callcenter.callbacks.requests import Callback, Purpose, SchedulerSettings
from callcenter.kernel.supervisor import TaskSupervisor
from callcenter.routing.decide import WaitingCall


class _Repo:
    def __init__(self) -> None:
        self.claims = 0
        self.claimable: list[Callback] = []
        self.released: list[int] = []
        self.release_fails = False

    async def counts(self, now: float) -> tuple[int, int]:
        return (7, 2)

    async def claim(self, *args: Any, **kwargs: Any) -> list[Any]:
        self.claims += 1
        return self.claimable

    async def release(self, callback_id: int) -> None:
        if self.release_fails:
            raise OSError("database down")
        self.released.append(callback_id)


class _Ami:
    connected = True

    async def tracked_action(self, name: str, headers: dict[str, Any]) -> tuple[None, str]:
        return None, "originate-1"


class _Agents:
    """The agent service's methods the dialer calls; one outbound agent, logged in."""

    def __init__(self) -> None:
        self.board = AgentBoard()
        self.board.add(Agent("1001", "A", "1001", frozenset({"outbound"})))
        self.board.login("1001", 0.0)

        self.failed: list[tuple[str, str, str, bool]] = []

    def offer(self, staff_no: str, call: str, ring_seconds: float | None = None) -> None:
        pass

    def offer_failed(self, staff_no: str, call: str, why: str, *, counts_as_miss: bool) -> None:
        self.failed.append((staff_no, call, why, counts_as_miss))


def _dialer(
    repo: _Repo,
    agents: _Agents,
    supervisor: TaskSupervisor | None = None,
    waiting: dict[str, WaitingCall] | None = None,
) -> Dialer:
    return Dialer(
        repo,  # type: ignore[arg-type]
        agents,  # type: ignore[arg-type]
        _Ami(),  # type: ignore[arg-type]
        SchedulerSettings(),
        waiting=lambda: waiting or {},
        skill="outbound",
        instance="test",
        agent_ring_seconds=10,
        caller_id="4008000000",
        supervisor=supervisor or TaskSupervisor(),
    )


async def test_no_callback_is_dialled_while_a_caller_waits_live() -> None:
    repo, waiting = _Repo(), {"c1": WaitingCall("c1", arrived_at=0.0, skill="support")}
    dialer = _dialer(repo, _Agents(), waiting=waiting)
    assert await dialer.tick() is None
    assert repo.claims == 0  # not even claimed: the live caller keeps the turn
    assert (dialer.backlog, dialer.overdue) == (7, 2)  # counted for /metrics anyway
    # A caller already being rung to an agent is served; the callback may go.
    waiting["c1"] = WaitingCall("c1", arrived_at=0.0, dialling="1002")
    await _dialer(repo, _Agents(), waiting=waiting).tick()
    assert repo.claims == 1


async def test_no_callback_without_a_free_outbound_agent() -> None:
    repo, agents = _Repo(), _Agents()
    agents.board.pause("1001", "break", 1.0)
    assert await _dialer(repo, agents).tick() is None
    assert repo.claims == 0


async def _missed_offer(repo: _Repo, supervisor: TaskSupervisor) -> None:
    """Offer callback 5 to the agent, who does not answer; wait for what that starts."""
    repo.claimable = [
        Callback(
            id=5, number="2001", purpose=Purpose.PRESS_1, priority=1, due_at=0.0, requested_at=0.0
        )
    ]
    dialer = _dialer(repo, _Agents(), supervisor)
    assert await dialer.tick() is not None
    dialer.on_event(
        Message({"Event": "OriginateResponse", "ActionID": "originate-1", "Response": "Failure"})
    )
    assert supervisor.running == ["callback-5-release"]
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "callback-5-release"]
    await task
    assert supervisor.running == []


async def test_a_missed_offer_is_released_by_a_task_the_supervisor_owns() -> None:
    repo, supervisor = _Repo(), TaskSupervisor()
    await _missed_offer(repo, supervisor)
    assert repo.released == [5]  # back in the queue, no attempt counted


async def test_a_failed_release_is_a_warning_not_a_failed_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    repo, supervisor = _Repo(), TaskSupervisor()
    repo.release_fails = True
    with caplog.at_level(logging.WARNING):
        await _missed_offer(repo, supervisor)
    assert "callback release failed: database down" in caplog.messages
    assert supervisor.failures == 0


class _InstantFailure(_Ami):
    """Asterisk answers an Originate to an unregistered phone in the same read as the
    action's response: the failure is dispatched before `tracked_action` returns."""

    def __init__(self) -> None:
        self.dialer: Dialer | None = None

    async def tracked_action(self, name: str, headers: dict[str, Any]) -> tuple[None, str]:
        assert self.dialer is not None
        self.dialer.on_event(
            Message(
                {
                    "Event": "OriginateResponse",
                    "ActionID": "originate-1",
                    "Response": "Failure",
                    "Reason": "0",
                }
            )
        )
        return None, "originate-1"


async def test_an_originate_failure_before_its_response_still_releases_the_agent() -> None:
    repo, agents, supervisor, ami = _Repo(), _Agents(), TaskSupervisor(), _InstantFailure()
    repo.claimable = [
        Callback(
            id=6, number="2001", purpose=Purpose.PRESS_1, priority=1, due_at=0.0, requested_at=0.0
        )
    ]
    dialer = Dialer(
        repo,  # type: ignore[arg-type]
        agents,  # type: ignore[arg-type]
        ami,  # type: ignore[arg-type]
        SchedulerSettings(),
        waiting=dict,
        skill="outbound",
        instance="test",
        agent_ring_seconds=10,
        caller_id="4008000000",
        supervisor=supervisor,
    )
    ami.dialer = dialer
    assert await dialer.tick() is not None
    assert agents.failed == [("1001", "callback-6", "phone-unavailable", True)]
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "callback-6-release"]
    await task
    assert repo.released == [6]
