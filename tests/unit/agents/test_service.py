"""The agent service without a database: what it saves, in which order, and whom it tells."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from callcenter.agents.domain import (
    MISSED_CALLS,
    Agent,
    AgentBoard,
    AgentState,
    AgentStatus,
    BoardSettings,
    Transition,
)
from callcenter.agents.service import AgentService

T0 = 1_700_000_000.0


class _Repo:
    """The repository methods the agent service calls, in memory; `down` fails the writes."""

    def __init__(self, agents: Sequence[tuple[Agent, AgentStatus]] = ()) -> None:
        self.agents = list(agents)
        self.saved: list[tuple[list[Transition], dict[str, AgentStatus]]] = []
        self.down = 0  # writes to refuse before the database is back

    async def list_agents(self) -> list[tuple[Agent, AgentStatus]]:
        return self.agents

    async def record(
        self, transitions: Sequence[Transition], statuses: dict[str, AgentStatus]
    ) -> None:
        if self.down:
            self.down -= 1
            raise OSError("database down")
        self.saved.append((list(transitions), statuses))


@pytest.fixture
async def running() -> AsyncIterator[tuple[AgentService, _Repo]]:
    repo = _Repo([(Agent("1001", "A", "ep1"), AgentStatus(AgentState.LOGGED_OUT, T0))])
    agents = AgentService(AgentBoard(BoardSettings(max_missed=1)), repo, clock=lambda: T0)  # type: ignore[arg-type]
    await agents.load()
    task = asyncio.create_task(agents.run_persistence(retry_max=0.01))
    yield agents, repo
    task.cancel()


async def test_an_offer_that_died_with_the_last_process_is_forgotten_at_load() -> None:
    ringing = AgentStatus(AgentState.RINGING, T0 - 5, idle_since=T0 - 60, call="c1")
    repo = _Repo([(Agent("1001", "A", "ep1"), ringing)])
    agents = AgentService(AgentBoard(), repo, clock=lambda: T0)  # type: ignore[arg-type]
    await agents.load()
    assert agents.board.status["1001"] == AgentStatus(AgentState.AVAILABLE, T0, idle_since=T0 - 60)


async def test_every_change_is_saved_in_order_through_a_database_outage(
    running: tuple[AgentService, _Repo],
) -> None:
    agents, repo = running
    repo.down = 1  # the first write fails: retried after 0.5 s, nothing overtakes it
    agents.act("1001", "login")
    agents.act("1001", "pause", "break")
    agents.act("1001", "unpause")
    await asyncio.wait_for(agents.flush(), 1.0)
    assert [[t.new for t in ts] for ts, _ in repo.saved] == [
        [AgentState.AVAILABLE],
        [AgentState.PAUSED],
        [AgentState.AVAILABLE],
    ]
    assert repo.saved[-1][1] == {"1001": agents.board.status["1001"]}


async def test_a_deferred_pause_is_saved_and_told_though_it_is_no_transition(
    running: tuple[AgentService, _Repo],
) -> None:
    agents, repo = running
    told: list[list[Transition]] = []
    unwatch = agents.watch(told.append)
    agents.act("1001", "login")
    agents.offer("1001", "callback-1")
    agents.act("1001", "pause", "break")
    await agents.flush()
    assert told[-1] == [] and repo.saved[-1] == ([], {"1001": agents.board.status["1001"]})
    assert agents.board.status["1001"].pending_pause == "break"
    unwatch()
    agents.withdraw("1001", "callback-1")
    assert len(told) == 3  # no longer told
    assert agents.board.status["1001"].state is AgentState.PAUSED


async def test_a_missed_outbound_offer_that_pauses_the_agent_alerts_the_supervisors(
    running: tuple[AgentService, _Repo],
) -> None:
    agents, _ = running
    agents.act("1001", "login")
    agents.offer("1001", "callback-1")
    agents.missed("1001", "callback-1")
    assert agents.board.status["1001"].pause_reason == MISSED_CALLS
    assert [(a.kind, a.staff_no, a.message) for a in agents.alerts] == [
        (MISSED_CALLS, "1001", "agent 1001 missed calls in a row: paused")
    ]


async def test_a_failing_watcher_does_not_stop_the_others(
    running: tuple[AgentService, _Repo],
) -> None:
    agents, _ = running
    told: list[list[Transition]] = []

    def broken(transitions: list[Transition]) -> None:
        raise RuntimeError("boom")

    agents.watch(broken)
    agents.watch(told.append)
    agents.act("1001", "login")
    assert [t.new for t in told[0]] == [AgentState.AVAILABLE]
