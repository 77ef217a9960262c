"""The agent service without a database: what it saves, in which order, and whom it tells."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence

import pytest

from callcenter.agents.domain import (
    MISSED_CALLS,
    Agent,
    AgentBoard,
    AgentError,
    AgentState,
    AgentStatus,
    BoardSettings,
    Case,
    Transition,
)
from callcenter.agents.service import AgentService
from callcenter.agents.store import WrapUp

T0 = 1_700_000_000.0


class _Repo:
    """The repository methods the agent service calls, in memory; `down` fails the writes."""

    def __init__(self, agents: Sequence[tuple[Agent, AgentStatus]] = ()) -> None:
        self.agents = list(agents)
        self.saved: list[tuple[list[Transition], dict[str, AgentStatus]]] = []
        self.down = 0  # writes to refuse before the database is back
        self.wrap_ups: list[WrapUp] = []

    async def list_agents(self) -> list[tuple[Agent, AgentStatus]]:
        return self.agents

    async def record(
        self, transitions: Sequence[Transition], statuses: dict[str, AgentStatus]
    ) -> None:
        if self.down:
            self.down -= 1
            raise OSError("database down")
        self.saved.append((list(transitions), statuses))

    async def save_wrap_up(self, wrap: WrapUp, case: tuple[str, float] | None) -> Case | None:
        self.wrap_ups.append(wrap)
        if case is None:
            return None
        kind, due = case
        return Case(1, kind, "2001", wrap.staff_no, wrap.linkedid, "", "open", T0, due)


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


async def test_a_wrap_up_that_opens_a_case_tells_the_case_watchers_once_it_is_filed(
    running: tuple[AgentService, _Repo],
) -> None:
    agents, repo = running
    agents.act("1001", "login")
    agents.offer("1001", "c1")
    agents.commit(agents.board.answered("1001", "c1", T0))
    agents.commit(agents.board.call_ended("1001", "c1", T0))
    seen: list[tuple[Case, int, AgentState]] = []

    async def on_case(case: Case) -> None:
        seen.append((case, len(repo.wrap_ups), agents.board.status["1001"].state))

    unwatch = agents.watch_cases(on_case)
    wrap = WrapUp("c1", "1001", "complaint", "", False, T0, T0)
    opened = await agents.file_wrap_up(wrap, ("complaint", T0 + 3600), ends_wrap_up=True)
    assert opened is not None
    assert seen == [(opened, 1, AgentState.AVAILABLE)]  # saved and wrap-up ended first

    unwatch()
    again = WrapUp("c2", "1001", "complaint", "", False, None, T0)
    await agents.file_wrap_up(again, ("complaint", T0 + 3600), ends_wrap_up=False)
    assert len(seen) == 1


async def test_staff_of_names_the_agent_at_an_endpoint(
    running: tuple[AgentService, _Repo],
) -> None:
    agents, _ = running
    assert agents.staff_of("ep1") == "1001"
    assert agents.staff_of("ep9") is None


async def test_a_restored_state_is_saved_as_restored_at_load() -> None:
    """A second crash must not restore the old state again (a dead offer, say)."""
    ringing = AgentStatus(AgentState.RINGING, T0 - 5, idle_since=T0 - 60, call="c1")
    wrapping = AgentStatus(AgentState.WRAP_UP, T0 - 5, call="c2", wrap_up_until=T0 + 25)
    repo = _Repo([(Agent("1001", "A", "ep1"), ringing), (Agent("1002", "B", "ep2"), wrapping)])
    agents = AgentService(AgentBoard(), repo, clock=lambda: T0)  # type: ignore[arg-type]
    await agents.load()
    task = asyncio.create_task(agents.run_persistence(retry_max=0.01))
    await asyncio.wait_for(agents.flush(), 1.0)
    task.cancel()
    assert repo.saved == [([], {"1001": agents.board.status["1001"]})]
    assert agents.board.status["1002"] == wrapping


class _Phones:
    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(self, endpoint: str) -> bool | None:
        self.asked.append(endpoint)
        return self.answer


async def _service(phones: _Phones | None) -> AgentService:
    repo = _Repo([(Agent("1001", "A", "ep1"), AgentStatus(AgentState.LOGGED_OUT, T0))])
    agents = AgentService(AgentBoard(), repo, clock=lambda: T0, phones=phones)  # type: ignore[arg-type]
    await agents.load()
    return agents


async def test_login_is_refused_while_the_phone_is_not_registered() -> None:
    phones = _Phones(False)
    agents = await _service(phones)
    with pytest.raises(AgentError) as refused:
        await agents.login("1001")
    assert (refused.value.error_id, refused.value.kind.value) == (
        "phone-not-registered",
        "conflict",
    )
    assert refused.value.details == {"endpoint": "ep1"}
    assert phones.asked == ["ep1"]
    assert agents.board.status["1001"].state is AgentState.LOGGED_OUT


@pytest.mark.parametrize("answer", [True, None])
async def test_login_goes_ahead_with_a_registered_phone_or_when_asterisk_cannot_be_asked(
    answer: bool | None,
) -> None:
    agents = await _service(_Phones(answer))
    assert (await agents.login("1001")).state is AgentState.AVAILABLE


async def test_login_without_telephony_goes_ahead_and_an_unknown_agent_is_not_found() -> None:
    agents = await _service(None)
    assert (await agents.login("1001")).state is AgentState.AVAILABLE
    with pytest.raises(AgentError) as unknown:
        await agents.login("4242")
    assert unknown.value.error_id == "unknown-agent"


async def test_an_unreachable_phone_releases_the_agent_and_logs_them_out() -> None:
    agents = await _service(None)
    told: list[Transition] = []
    agents.watch(told.extend)
    agents.act("1001", "login")
    agents.offer("1001", "click-1", 8.0)
    agents.offer_failed("1001", "click-1", "phone-unavailable", counts_as_miss=True)
    log = [(t.new, t.reason) for t in told]
    assert log[-2:] == [
        (AgentState.AVAILABLE, "phone-unavailable"),
        (AgentState.LOGGED_OUT, "phone-unavailable"),
    ]
    assert [a.kind for a in agents.alerts] == ["phone-unavailable"]


async def test_a_busy_phone_releases_the_agent_with_the_reason_and_an_alert() -> None:
    agents = await _service(None)
    agents.act("1001", "login")
    agents.offer("1001", "callback-3", 8.0)
    agents.offer_failed("1001", "callback-3", "phone-busy", counts_as_miss=True)
    status = agents.board.status["1001"]
    assert (status.state, status.missed_in_row) == (AgentState.AVAILABLE, 0)
    assert [(a.kind, a.message) for a in agents.alerts] == [
        ("offer-failed", "call callback-3 to agent 1001 failed: phone-busy")
    ]


async def test_an_unanswered_own_phone_is_a_miss_only_where_it_counts() -> None:
    agents = await _service(None)
    agents.act("1001", "login")
    agents.offer("1001", "click-1", 8.0)
    agents.offer_failed("1001", "click-1", "no-answer", counts_as_miss=False)
    assert agents.board.status["1001"].missed_in_row == 0
    agents.offer("1001", "callback-1", 8.0)
    agents.offer_failed("1001", "callback-1", "no-answer", counts_as_miss=True)
    assert agents.board.status["1001"].missed_in_row == 1
    assert agents.alerts == deque()  # neither is worth a supervisor's look


async def test_the_tick_withdraws_an_offer_nobody_confirmed_and_alerts() -> None:
    now = [T0]
    repo = _Repo([(Agent("1001", "A", "ep1"), AgentStatus(AgentState.LOGGED_OUT, T0))])
    agents = AgentService(AgentBoard(), repo, clock=lambda: now[0])  # type: ignore[arg-type]
    await agents.load()
    agents.act("1001", "login")
    agents.offer("1001", "forged-1", 10.0)
    now[0] = T0 + 10.0 + agents.board.settings.offer_margin - 0.1
    assert agents.tick() == []
    now[0] += 0.1
    (expired,) = agents.tick()
    assert (expired.new, expired.reason) == (AgentState.AVAILABLE, "offer-expired")
    assert [a.kind for a in agents.alerts] == ["offer-expired"]


class _HotDeskRepo(_Repo):
    def __init__(self, agents: Sequence[tuple[Agent, AgentStatus]]) -> None:
        super().__init__(agents)
        self.endpoints: list[tuple[str, str]] = []

    async def set_endpoint(self, staff_no: str, endpoint: str) -> None:
        self.endpoints.append((staff_no, endpoint))


async def test_hot_desking_to_an_unregistered_phone_is_refused_and_moves_nobody() -> None:
    async def phones(endpoint: str) -> bool | None:
        return endpoint == "desk-7"

    repo = _HotDeskRepo([(Agent("1001", "A", "ep1"), AgentStatus(AgentState.LOGGED_OUT, T0))])
    agents = AgentService(AgentBoard(), repo, clock=lambda: T0, phones=phones)  # type: ignore[arg-type]
    await agents.load()
    with pytest.raises(AgentError) as refused:
        await agents.login("1001", "desk-9")
    assert refused.value.details == {"endpoint": "desk-9"}
    assert (agents.board.agents["1001"].endpoint, repo.endpoints) == ("ep1", [])
    assert (await agents.login("1001", "desk-7")).state is AgentState.AVAILABLE
    assert (agents.board.agents["1001"].endpoint, repo.endpoints) == (
        "desk-7",
        [("1001", "desk-7")],
    )
