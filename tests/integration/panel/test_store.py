"""The panel's and the reports' queries on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agents.domain import Agent, AgentState, AgentStatus, Transition
from callcenter.agents.store import AgentRepository, WrapUp
from callcenter.agents.tables import CaseRow
from callcenter.callbacks.numbers import CallbackError
from callcenter.callbacks.requests import Purpose, SchedulerSettings
from callcenter.callbacks.store import CallbackRepository
from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from callcenter.calls.store import CallRepository
from callcenter.panel.store import PanelRepository
from callcenter.reports.store import ReportsRepository

SHANGHAI = ZoneInfo("Asia/Shanghai")
SETTINGS = SchedulerSettings()


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).timestamp()


def call(
    linkedid: str,
    arrived: float,
    number: str = "13800138000",
    *,
    agent: str | None = "1001",
    agent_name: str | None = "1001",
    outcome: Outcome = Outcome.ANSWERED,
    direction: Direction = Direction.INBOUND,
    queue: str | None = "support",
) -> CallRecord:
    answered = outcome is Outcome.ANSWERED
    return CallRecord(
        linkedid=linkedid,
        direction=direction,
        caller_number=number,
        caller_name=None,
        dialled_number="600",
        queue=queue,
        arrived_at=arrived,
        answered_at=arrived + 3 if answered else None,
        ended_at=arrived + 60,
        answer_seconds=3.0 if answered else None,
        rings_to_answer=1 if answered else None,
        answered_by=Party.AGENT if answered else None,
        agent=agent if answered else None,
        agent_name=agent_name if answered else None,
        hold_seconds=0.0,
        talk_seconds=57.0 if answered else None,
        hangup_first=Party.CALLER,
        outcome=outcome,
    )


@dataclasses.dataclass
class Repos:
    sessions: async_sessionmaker[AsyncSession]
    calls: CallRepository
    agents: AgentRepository
    callbacks: CallbackRepository
    panel: PanelRepository
    reports: ReportsRepository


@pytest.fixture
def repos(sessions: async_sessionmaker[AsyncSession]) -> Repos:
    return Repos(
        sessions,
        CallRepository(sessions),
        AgentRepository(sessions),
        CallbackRepository(sessions),
        PanelRepository(sessions),
        ReportsRepository(sessions),
    )


async def wrap(
    repos: Repos,
    linkedid: str,
    category: str,
    notes: str = "",
    *,
    staff_no: str = "1001",
    resolved: bool = False,
    subcategory: str | None = None,
    when: float = 0.0,
) -> None:
    case = ("complaint", when + 48 * 3600) if category == "投訴" else None
    await repos.agents.save_wrap_up(
        WrapUp(linkedid, staff_no, category, notes, resolved, when - 20, when, subcategory), case
    )


async def test_a_contact_comes_from_the_caller_id_and_an_agents_name_wins(repos: Repos) -> None:
    first = await repos.panel.note_caller_id("138 0013-8000", None, at(23, 9))
    assert first is not None
    assert (first.number, first.name, first.member) == ("13800138000", None, False)
    named = await repos.panel.note_caller_id("13800138000", "WANG", at(23, 10))
    assert named is not None and (named.name, named.name_source) == ("WANG", "caller-id")
    mine = await repos.panel.save_contact(
        "+86 (0) 13800138000".replace("+86 (0) ", ""),
        name="王先生",
        notes="prefers mornings",
        member=True,
        by="agent1 (1001)",
        at=at(23, 11),
    )
    assert (mine.name, mine.name_source, mine.member, mine.notes) == (
        "王先生",
        "agent",
        True,
        "prefers mornings",
    )
    # A later caller ID name never overwrites it; a partial edit keeps the other fields.
    again = await repos.panel.note_caller_id("13800138000", "W. CORP", at(24, 9))
    assert again is not None and again.name == "王先生"
    notes_only = await repos.panel.save_contact(
        "13800138000", name=None, notes="call after 10", member=None, by="x", at=at(24, 10)
    )
    assert (notes_only.name, notes_only.member, notes_only.notes) == (
        "王先生",
        True,
        "call after 10",
    )
    # A new number typed in the form makes a contact; what is no number is refused.
    fresh = await repos.panel.save_contact(
        "2001", name="Alice", notes=None, member=None, by="x", at=at(24, 11)
    )
    assert (fresh.name, fresh.notes, fresh.member) == ("Alice", "", False)
    with pytest.raises(CallbackError):
        await repos.panel.save_contact("call me", name="x", notes=None, member=None, by="x", at=0)
    assert await repos.panel.note_caller_id("anonymous", "Anon", 0.0) is None
    assert await repos.panel.contact("anonymous") is None


async def test_history_most_recent_first_with_wrap_ups_and_open_cases(repos: Repos) -> None:
    await repos.calls.upsert_calls(
        [
            call("a", at(20, 9)),
            call("b", at(21, 9), agent="ep-2", agent_name="1002"),
            call("c", at(22, 9), outcome=Outcome.ABANDONED),
            call("other", at(22, 10), number="2001"),
            # Click-to-call and callbacks: no caller number, the customer's is the dialled one.
            dataclasses.replace(
                call("out", at(23, 8), direction=Direction.OUTBOUND),
                caller_number=None,
                dialled_number="13800138000",
            ),
            dataclasses.replace(call("in-600", at(23, 9), "600"), dialled_number="13800138000"),
        ]
    )
    await wrap(repos, "a", "查詢", "asked about the bill", resolved=True, when=at(20, 9, 5))
    await wrap(
        repos, "b", "投訴", "parcel late", staff_no="1002", subcategory="配送", when=at(21, 9, 5)
    )
    history = await repos.panel.history("138-0013-8000")
    assert [h.linkedid for h in history] == ["out", "c", "b", "a"]
    by_id = {h.linkedid: h for h in history}
    assert (by_id["a"].category, by_id["a"].notes, by_id["a"].resolved) == (
        "查詢",
        "asked about the bill",
        True,
    )
    assert (by_id["b"].agent, by_id["b"].subcategory) == ("1002", "配送")
    assert by_id["c"].category is None and by_id["c"].outcome == "abandoned"
    assert by_id["out"].direction == "outbound"
    assert [h.linkedid for h in await repos.panel.history("13800138000", limit=2)] == ["out", "c"]
    cases = await repos.panel.open_cases("13800138000")
    assert [(c.owner, c.kind, c.summary) for c in cases] == [("1002", "complaint", "parcel late")]
    assert cases[0].reply_due_at == pytest.approx(at(21, 9, 5) + 48 * 3600)
    async with repos.sessions() as session, session.begin():
        await session.execute(sa.update(CaseRow).values(status="closed"))
    assert await repos.panel.open_cases("13800138000") == []
    assert await repos.panel.call_party("a") == ("13800138000", None, "support")
    assert await repos.panel.call_party("nope") is None


async def test_an_agent_owns_the_callbacks_of_their_cases_and_calls(repos: Repos) -> None:
    await repos.calls.upsert_calls(
        [call("mine", at(23, 9)), call("theirs", at(23, 10), "2002", agent_name="1002")]
    )
    await wrap(repos, "mine", "投訴", "broken", when=at(23, 9, 5))
    await wrap(repos, "theirs", "咨詢", staff_no="1002", when=at(23, 10, 5))
    (case,) = await repos.agents.list_cases()
    reply, _ = await repos.callbacks.request(
        "13800138000", Purpose.COMPLAINT_REPLY, at(23, 9, 6), SETTINGS, case_id=case.id
    )
    follow, _ = await repos.callbacks.request(
        "2002", Purpose.FOLLOW_UP, at(23, 10, 6), SETTINGS, linkedid="theirs"
    )
    stranger, _ = await repos.callbacks.request("2003", Purpose.ABANDONED, at(23, 11), SETTINGS)
    assert [c.id for c in await repos.panel.callbacks_for("1001")] == [reply.id]
    assert [c.id for c in await repos.panel.callbacks_for("1002")] == [follow.id]
    await repos.callbacks.cancel(reply.id or 0)
    assert await repos.panel.callbacks_for("1001") == []
    assert stranger.id not in {c.id for c in await repos.panel.callbacks_for("1003")}


async def test_report_calls_carry_who_worked_them_their_wrap_up_case_and_marks(
    repos: Repos,
) -> None:
    await repos.agents.add_agent(
        Agent("1001", "Wang", "1001", shift="A"), AgentStatus(AgentState.AVAILABLE, at(23, 8))
    )
    await repos.agents.add_agent(
        Agent("1002", "Li", "hotdesk-9"), AgentStatus(AgentState.AVAILABLE, at(23, 8))
    )
    outbound = dataclasses.replace(
        call("cb", at(23, 11), agent=None, agent_name=None, outcome=Outcome.UNANSWERED),
        direction=Direction.OUTBOUND,
        queue=None,
    )
    await repos.calls.upsert_calls(
        [
            call("wrapped", at(23, 9)),
            call("desk", at(23, 10), agent="hotdesk-9", agent_name=None),
            outbound,
            call("held", at(23, 12), outcome=Outcome.ANSWERED_BY_SYSTEM),
            call("late", at(23, 22), outcome=Outcome.ABANDONED),
            call("otherq", at(23, 13), queue="sales"),
            call("tomorrow", at(24, 9)),
        ]
    )
    await wrap(repos, "wrapped", "投訴", "late", subcategory="配送", when=at(23, 9, 5))
    # The unanswered callback: only the state log knows the agent was on it.
    await repos.agents.record(
        [Transition("1002", at(23, 11), AgentState.RINGING, AgentState.ON_CALL, call="cb")], {}
    )
    await repos.agents.add_callback_request("13800138000", "press-1", "held", at(23, 12, 1))
    await repos.agents.add_callback_request("13800138000", "after-hours", "late", at(23, 22, 1))

    roster = await repos.reports.roster()
    assert roster["1002"].endpoint == "hotdesk-9" and roster["1001"].shift == "A"
    found = {c.linkedid: c for c in await repos.reports.calls(at(23, 0), at(24, 0))}
    assert set(found) == {"wrapped", "desk", "cb", "held", "late", "otherq"}
    wrapped = found["wrapped"]
    assert (wrapped.staff_no, wrapped.category, wrapped.subcategory) == ("1001", "投訴", "配送")
    assert (wrapped.case_status, wrapped.resolved, wrapped.wrap_seconds) == ("open", False, 20.0)
    assert found["desk"].staff_no == "1002"  # the endpoint's owner
    assert found["cb"].staff_no == "1002" and found["cb"].proactive
    assert found["held"].callback_requested and not found["held"].after_hours
    assert found["late"].after_hours and not found["late"].callback_requested
    queued = await repos.reports.calls(at(23, 0), at(24, 0), queue="sales")
    assert [c.linkedid for c in queued] == ["otherq"]
