"""The live model and its rolling windows, with an injected clock.

The clock is moved across the 30-minute edge, the 24-hour edge and midnight:
windows roll, nothing resets at midnight.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callcenter.agents.domain import Agent, AgentBoard, AgentState, Transition
from callcenter.ami.message import Message
from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from callcenter.config import RingConfig
from callcenter.dashboard.definitions import (
    MetricSettings,
    Result,
    Totals,
    classify,
    service_level_answered,
    service_level_offered,
)
from callcenter.dashboard.live import CaseView, LiveModel
from callcenter.dashboard.windows import DAY, THIRTY_MINUTES, RollingTotals
from callcenter.routing.decide import WaitingCall

RING = RingConfig(cadence_seconds=5.0, budget_rings=3)
SETTINGS = MetricSettings(RING, short_abandon_seconds=5.0)
MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC).timestamp()


def record(
    linkedid: str,
    arrived: float,
    outcome: Outcome,
    *,
    answer: float | None = None,
    by: Party | None = None,
    talk: float | None = None,
    ended: float | None = None,
    agent: str | None = None,
    hangup_first: Party | None = None,
    hold: float | None = None,
    queue: str = "support",
) -> CallRecord:
    answered_at = None if answer is None else arrived + answer
    return CallRecord(
        linkedid=linkedid,
        direction=Direction.INBOUND,
        caller_number="2001",
        caller_name=None,
        dialled_number="600",
        queue=queue,
        arrived_at=arrived,
        answered_at=answered_at,
        ended_at=ended if ended is not None else arrived + (answer or 0) + (talk or 4.0),
        answer_seconds=answer,
        rings_to_answer=None,
        answered_by=by,
        agent=agent,
        agent_name=None,
        hold_seconds=hold,
        talk_seconds=talk,
        hangup_first=hangup_first,
        outcome=outcome,
    )


def answered(linkedid: str, arrived: float, answer: float = 2.0, agent: str = "1001") -> CallRecord:
    return record(
        linkedid, arrived, Outcome.ANSWERED, answer=answer, by=Party.AGENT, talk=60.0, agent=agent
    )


# -- definitions ----------------------------------------------------------------------------


def test_third_ring_is_within_the_budget_fourth_is_not() -> None:
    at_15 = classify(answered("a", 0.0, answer=15.0), RING)
    after_15 = classify(answered("b", 0.0, answer=15.2), RING)
    assert at_15 is not None and at_15.within_budget
    assert after_15 is not None and not after_15.within_budget


def test_press_1_is_a_callback_not_an_abandon_and_held_hangup_is_an_abandon() -> None:
    held = record(
        "h",
        0.0,
        Outcome.ANSWERED_BY_SYSTEM,
        answer=15.0,
        by=Party.SYSTEM,
        talk=40.0,
        hangup_first=Party.CALLER,
    )
    left = classify(held, RING)
    pressed = classify(held, RING, callback_requested=True)
    assert left is not None and left.result is Result.ABANDONED and not left.abandoned_ringing
    assert pressed is not None and pressed.result is Result.CALLBACK
    t = Totals()
    t.add(left, SETTINGS)
    t.add(pressed, SETTINGS)
    assert (t.offered, t.answered_by_system, t.abandoned, t.callbacks) == (2, 2, 1, 1)
    assert t.abandoned_ringing == 0  # held abandons are answered calls in the SL denominators


def test_held_then_taken_by_an_agent_counts_its_time_to_the_agent() -> None:
    rec = record(
        "s",
        100.0,
        Outcome.ANSWERED,
        answer=15.0,
        by=Party.SYSTEM,
        talk=90.0,
        agent="1001",
        ended=205.0,
        hold=10.0,
    )
    facts = classify(rec, RING, agent_answered_at=145.0, wrap_seconds=20.0)
    assert facts is not None
    assert facts.first_answer is Party.SYSTEM and facts.result is Result.HANDLED
    assert not facts.within_budget
    assert facts.agent_answer_seconds == 45.0  # arrival 100 -> agent at 145
    assert facts.talk_seconds == 60.0  # 145 -> 205 with the agent (hold inside it)
    t = Totals()
    t.add(facts, SETTINGS)
    assert t.asa_sum == 45.0 and t.talk_sum + t.wrap_sum == 80.0


def test_service_level_variants_side_by_side() -> None:
    facts = [
        classify(answered("1", 0.0, answer=3.0), RING),
        classify(answered("2", 0.0, answer=14.0), RING),
        classify(
            record(
                "3",
                0,
                Outcome.ANSWERED_BY_SYSTEM,
                answer=15.0,
                by=Party.SYSTEM,
                talk=30.0,
                hangup_first=Party.SYSTEM,
            ),
            RING,
        ),
        classify(record("4", 0.0, Outcome.ABANDONED, ended=2.0), RING),  # short
        classify(record("5", 0.0, Outcome.ABANDONED, ended=12.0), RING),
    ]
    t = Totals()
    for f in facts:
        assert f is not None
        t.add(f, SETTINGS)
    assert service_level_answered(t) == pytest.approx(2 / 3, abs=1e-4)
    # 2 / (3 answered + 2 ringing abandons - 1 short one)
    assert service_level_offered(t) == 0.5


def test_outbound_calls_are_not_offered() -> None:
    rec = answered("o", 0.0)
    outbound = CallRecord(**{**rec.__dict__, "direction": Direction.OUTBOUND})
    assert classify(outbound, RING) is None


# -- rolling windows -------------------------------------------------------------------------


def test_calls_leave_the_30_minute_window_then_the_day() -> None:
    windows = RollingTotals(SETTINGS)
    start = MIDNIGHT - 3600.0
    facts = classify(answered("a", start), RING)
    assert facts is not None
    windows.put(facts, start + 70)
    assert windows.totals(THIRTY_MINUTES).offered == 1
    assert windows.totals(DAY).offered == 1
    assert not windows.advance(start + THIRTY_MINUTES - 1)
    assert windows.totals(THIRTY_MINUTES).offered == 1
    assert windows.advance(start + THIRTY_MINUTES + 1)
    assert windows.totals(THIRTY_MINUTES).offered == 0
    assert windows.totals(DAY).offered == 1
    windows.advance(start + DAY - 1)
    assert windows.totals(DAY).offered == 1
    windows.advance(start + DAY + 1)
    assert windows.totals(DAY).offered == 0
    assert windows.get("a") is None  # forgotten once out of the longest window


def test_midnight_does_not_reset_the_windows() -> None:
    windows = RollingTotals(SETTINGS)
    for n, offset in enumerate((-600.0, -300.0, -10.0)):
        facts = classify(answered(f"c{n}", MIDNIGHT + offset), RING)
        assert facts is not None
        windows.put(facts, MIDNIGHT + offset + 70)
    windows.advance(MIDNIGHT + 300.0)  # 00:05 the next day
    assert windows.totals(THIRTY_MINUTES).offered == 3
    assert windows.totals(DAY).offered == 3
    hours = windows.hourly(MIDNIGHT + 300.0)
    assert len(hours) == 24
    assert hours[-1][0] == MIDNIGHT and hours[-1][1].offered == 0  # 00:00-01:00, none yet
    assert hours[-2][0] == MIDNIGHT - 3600.0 and hours[-2][1].offered == 3


def test_a_record_seen_again_replaces_its_first_count() -> None:
    windows = RollingTotals(SETTINGS)
    first = classify(answered("a", 1000.0), RING)
    again = classify(answered("a", 1000.0), RING, wrap_seconds=25.0)
    assert first is not None and again is not None
    windows.put(first, 1100.0)
    windows.put(again, 1130.0)
    t = windows.totals(DAY)
    assert t.offered == 1 and t.wrap_sum == 25.0
    windows.advance(1000.0 + THIRTY_MINUTES + 1)
    assert windows.totals(THIRTY_MINUTES).offered == 0  # the stale heap entry did no harm
    assert windows.totals(DAY).offered == 1


def test_a_call_older_than_a_window_never_enters_it() -> None:
    windows = RollingTotals(SETTINGS)
    old = classify(answered("old", 0.0), RING)
    assert old is not None
    windows.put(old, 3600.0)  # arrived an hour ago: in the day, not in the last 30 minutes
    assert windows.totals(THIRTY_MINUTES).offered == 0
    assert windows.totals(DAY).offered == 1
    assert not windows.put(old, 3 * DAY)  # older than the longest window: not counted at all


# -- the live model ----------------------------------------------------------------------------


def event(name: str, at: float, **headers: str) -> Message:
    return Message({"Event": name, "Timestamp": f"{at:.6f}", **headers})


def board() -> AgentBoard:
    b = AgentBoard()
    b.add(Agent("1001", "Li", "1001", frozenset({"support"})))
    b.add(Agent("1002", "Wang", "1002", frozenset({"support", "outbound"})))
    b.login("1001", 0.0)
    b.login("1002", 0.0)
    b.pause("1002", "meal", 10.0)
    return b


def test_waiting_call_then_agent_then_totals() -> None:
    model = LiveModel(SETTINGS)
    agents = board()
    t0 = MIDNIGHT - 20.0
    caller = {"Linkedid": "L1", "Uniqueid": "L1"}
    assert model.on_event(
        event("Newchannel", t0, Context="from-callers", CallerIDNum="2001", **caller), t0
    )
    model.on_event(event("UserEvent", t0, UserEvent="Routing", Queue="support", **caller), t0)
    model.on_event(event("DialBegin", t0 + 1, DestChannel="PJSIP/1001-00000001", **caller), t0 + 1)
    snap = model.snapshot(agents, t0 + 8)
    (support,) = [q for q in snap["queues"] if q["queue"] == "support"]
    assert support["waiting"] == 1 and support["longest_wait"] == 8.0
    assert snap["waiting_calls"][0]["ringing_agent"] == "1001"
    assert support["agents"]["available"] == 2 - 1 and support["agents"]["paused"] == {"meal": 1}
    model.on_event(
        event("UserEvent", t0 + 9, UserEvent="AgentConnected", Agent="1001", **caller), t0 + 9
    )
    snap = model.snapshot(agents, t0 + 10)
    assert snap["center"]["waiting"] == 0
    assert snap["active_calls"][0]["agent"] == "1001"
    model.on_event(event("Hangup", t0 + 30, **caller), t0 + 30)
    assert model.snapshot(agents, t0 + 31)["active_calls"] == []
    # the record arrives after midnight: the day's totals have it, nothing was reset
    model.on_record(answered("L1", t0, answer=9.0), t0 + 32)
    snap = model.snapshot(agents, t0 + 40)
    day = snap["center"]["windows"]["24h"]
    assert day["counts"]["offered"] == 1 and day["metrics"]["service_level"] == 1.0
    assert snap["center"]["windows"]["30m"]["counts"]["handled"] == 1
    assert [a["handled"] for a in snap["agents"]] == [1, 0]
    hours = {h["hour"]: h for h in snap["hourly"]}
    assert hours[MIDNIGHT - 3600.0]["offered"] == 1


def test_wrap_up_time_joins_its_call_handle_time() -> None:
    model = LiveModel(SETTINGS)
    model.on_record(answered("L2", 1000.0), 1070.0)
    model.on_transitions(
        [Transition("1001", 1062.0, AgentState.ON_CALL, AgentState.WRAP_UP, call="L2")], 1062.0
    )
    model.on_transitions(
        [Transition("1001", 1080.0, AgentState.WRAP_UP, AgentState.AVAILABLE, call="L2")], 1080.0
    )
    t = model.rolling.totals(DAY, "agent:1001")
    assert t.wrap_sum == 18.0
    assert (t.talk_sum + t.wrap_sum) / t.handle_count == 78.0


def test_callback_request_event_keeps_a_held_caller_out_of_the_abandons() -> None:
    model = LiveModel(SETTINGS)
    caller = {"Linkedid": "L3", "Uniqueid": "L3"}
    model.on_event(event("Newchannel", 0.0, Context="from-callers", **caller), 0.0)
    model.on_event(event("UserEvent", 15.0, UserEvent="SystemAnswer", **caller), 15.0)
    assert model.calls["L3"].held
    model.on_event(event("UserEvent", 40.0, UserEvent="CallbackRequested", **caller), 40.0)
    held = record(
        "L3",
        0.0,
        Outcome.ANSWERED_BY_SYSTEM,
        answer=15.0,
        by=Party.SYSTEM,
        talk=28.0,
        hangup_first=Party.CALLER,
    )
    model.on_record(held, 50.0)
    t = model.rolling.totals(DAY)
    assert (t.callbacks, t.abandoned) == (1, 0)


def test_reconcile_and_router_merge() -> None:
    model = LiveModel(SETTINGS)
    caller = {"Linkedid": "L4", "Uniqueid": "L4"}
    model.on_event(event("Newchannel", 100.0, Context="from-callers", **caller), 100.0)
    # the router knows a caller we never saw (the backend restarted mid-call)
    assert model.merge_router(
        {"L5": WaitingCall("L5", 90.0, "support", "2002", system_answered=True)}
    )
    snap = model.snapshot(AgentBoard(), 120.0)
    assert snap["center"]["waiting"] == 2 and snap["center"]["longest_wait"] == 30.0
    assert model.reconcile(["L5"], 121.0)  # Asterisk no longer has L4
    assert list(model.calls) == ["L5"]


def test_cases_near_their_deadline_and_compliance_flags() -> None:
    model = LiveModel(SETTINGS, case_warn_seconds=6 * 3600.0)
    now = 100_000.0
    model.set_cases(
        [
            CaseView(1, "1001", "2001", now - 47 * 3600, now + 3600),  # due in an hour
            CaseView(2, "1001", "2002", now - 3600, now + 47 * 3600),  # far off
            CaseView(3, "1002", "2003", now - 49 * 3600, now - 3600),  # overdue
        ]
    )
    model.on_compliance("1001", ["dead-air"], "L9", now - 60)
    model.on_compliance("1001", ["dead-air", "agent-hung-up-first"], "L8", now - DAY - 5)
    snap = model.snapshot(board(), now)
    assert [c["id"] for c in snap["cases"]] == [3, 1]
    assert snap["cases"][0]["overdue"] and not snap["cases"][1]["overdue"]
    assert snap["center"]["cases_near_deadline"] == 2
    agent = next(a for a in snap["agents"] if a["staff_no"] == "1001")
    assert agent["flags"] == {"dead-air": 1}  # the older ones left the last 24 hours
