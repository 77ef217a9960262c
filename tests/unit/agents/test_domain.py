"""The agent state machine (callcenter/agents/domain.py): transitions, pauses, wrap-up, misses.

Pure: every call gets the time it happens at, so the clock is a plain number here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callcenter.agents.domain import (
    MISSED_CALLS,
    Agent,
    AgentBoard,
    AgentError,
    AgentState,
    AgentStatus,
    BoardSettings,
    Transition,
)

T0 = 1_700_000_000.0
CALL = "1700000000.10"
OTHER_CALL = "1700000000.20"


def make_agent(staff_no: str, skills: frozenset[str] = frozenset({"support"})) -> Agent:
    return Agent(
        staff_no=staff_no, name=f"agent {staff_no}", endpoint=f"ep{staff_no}", skills=skills
    )


def make_board(*staff_nos: str, settings: BoardSettings | None = None) -> AgentBoard:
    board = AgentBoard(settings=settings or BoardSettings())
    for staff_no in staff_nos:
        board.add(make_agent(staff_no))
    return board


def logged_in(*staff_nos: str, settings: BoardSettings | None = None) -> AgentBoard:
    board = make_board(*staff_nos, settings=settings)
    for staff_no in staff_nos:
        board.login(staff_no, T0)
    return board


def on_call(board: AgentBoard, staff_no: str, now: float, call: str = CALL) -> None:
    board.offer(staff_no, call, now)
    board.answered(staff_no, call, now + 1)


def in_wrap_up(board: AgentBoard, staff_no: str, now: float, call: str = CALL) -> None:
    """Put the agent in wrap-up; the call ends at `now`."""
    on_call(board, staff_no, now - 10, call)
    board.call_ended(staff_no, call, now)


def state_of(board: AgentBoard, staff_no: str) -> AgentState:
    return board.get(staff_no).state


def error_id(exc: pytest.ExceptionInfo[AgentError]) -> str:
    return exc.value.error_id


# -- roster -----------------------------------------------------------------------------


def test_a_new_agent_starts_logged_out() -> None:
    board = make_board("1001")
    assert board.get("1001") == AgentStatus()
    assert state_of(board, "1001") is AgentState.LOGGED_OUT


def test_add_keeps_an_explicit_status() -> None:
    board = AgentBoard()
    board.add(make_agent("1001"), AgentStatus(AgentState.AVAILABLE, T0, idle_since=T0))
    assert state_of(board, "1001") is AgentState.AVAILABLE


def test_two_agents_on_one_endpoint_are_refused() -> None:
    board = make_board("1001")
    clash = Agent(staff_no="1002", name="second", endpoint="ep1001")
    with pytest.raises(AgentError) as exc:
        board.add(clash)
    assert error_id(exc) == "endpoint-taken"
    assert "ep1001" in str(exc.value) and "1001" in str(exc.value)
    assert "1002" not in board.agents
    assert "1002" not in board.status


def test_readding_the_same_agent_keeps_its_status() -> None:
    board = logged_in("1001")
    board.add(Agent(staff_no="1001", name="renamed", endpoint="ep1001"))
    assert board.agents["1001"].name == "renamed"
    assert state_of(board, "1001") is AgentState.AVAILABLE


def test_by_endpoint_finds_the_agent_or_none() -> None:
    board = make_board("1001", "1002")
    found = board.by_endpoint("ep1002")
    assert found is not None and found.staff_no == "1002"
    assert board.by_endpoint("ep9999") is None


def test_remove_logs_the_agent_out_and_forgets_them() -> None:
    board = logged_in("1001", "1002")
    out = board.remove("1001", T0 + 5)
    assert out == [Transition("1001", T0 + 5, AgentState.AVAILABLE, AgentState.LOGGED_OUT)]
    assert "1001" not in board.agents
    assert "1001" not in board.status
    assert [a.staff_no for a, _ in board.available()] == ["1002"]
    with pytest.raises(AgentError) as exc:
        board.get("1001")
    assert error_id(exc) == "unknown-agent"


def test_removing_a_logged_out_agent_logs_no_transition() -> None:
    board = make_board("1001")
    assert board.remove("1001", T0) == []
    assert board.agents == {}


def test_remove_frees_the_endpoint_for_another_agent() -> None:
    board = make_board("1001")
    board.remove("1001", T0)
    board.add(Agent(staff_no="1002", name="new", endpoint="ep1001"))
    assert board.by_endpoint("ep1001") == board.agents["1002"]


@pytest.mark.parametrize(
    "action",
    [
        lambda b: b.get("9999"),
        lambda b: b.login("9999", T0),
        lambda b: b.logout("9999", T0),
        lambda b: b.pause("9999", "break", T0),
        lambda b: b.unpause("9999", T0),
        lambda b: b.offer("9999", CALL, T0),
        lambda b: b.answered("9999", CALL, T0),
        lambda b: b.not_answered("9999", CALL, T0),
        lambda b: b.withdrawn("9999", CALL, T0),
        lambda b: b.call_ended("9999", CALL, T0),
        lambda b: b.finish_wrap_up("9999", T0),
        lambda b: b.remove("9999", T0),
    ],
    ids=[
        "get",
        "login",
        "logout",
        "pause",
        "unpause",
        "offer",
        "answered",
        "not_answered",
        "withdrawn",
        "call_ended",
        "finish_wrap_up",
        "remove",
    ],
)
def test_an_unknown_agent_is_an_unknown_agent_error(action: Callable[[AgentBoard], object]) -> None:
    board = logged_in("1001")
    with pytest.raises(AgentError) as exc:
        action(board)
    assert error_id(exc) == "unknown-agent"
    assert "9999" in str(exc.value)


def test_agent_error_is_a_value_error_with_a_message() -> None:
    err = AgentError("agent-busy", "busy now")
    assert isinstance(err, ValueError)
    assert str(err) == "busy now"
    assert err.error_id == "agent-busy"


# -- login / logout -------------------------------------------------------------------


def test_login_makes_the_agent_available_and_idle_from_now() -> None:
    board = make_board("1001")
    out = board.login("1001", T0 + 3)
    assert out == [Transition("1001", T0 + 3, AgentState.LOGGED_OUT, AgentState.AVAILABLE)]
    status = board.get("1001")
    assert status.state is AgentState.AVAILABLE
    assert status.since == T0 + 3
    assert status.idle_since == T0 + 3


def test_login_twice_is_a_no_op() -> None:
    board = make_board("1001")
    board.login("1001", T0)
    before = board.get("1001")
    assert board.login("1001", T0 + 50) == []
    assert board.get("1001") == before


@pytest.mark.parametrize("setup", ["paused", "ringing", "on_call", "wrap_up"])
def test_login_while_already_working_changes_nothing(setup: str) -> None:
    board = logged_in("1001")
    if setup == "paused":
        board.pause("1001", "break", T0 + 1)
    elif setup == "ringing":
        board.offer("1001", CALL, T0 + 1)
    elif setup == "on_call":
        on_call(board, "1001", T0 + 1)
    else:
        in_wrap_up(board, "1001", T0 + 20)
    before = board.get("1001")
    assert board.login("1001", T0 + 100) == []
    assert board.get("1001") == before


def test_logout_from_available() -> None:
    board = logged_in("1001")
    out = board.logout("1001", T0 + 60)
    assert out == [Transition("1001", T0 + 60, AgentState.AVAILABLE, AgentState.LOGGED_OUT)]
    assert board.get("1001") == AgentStatus(AgentState.LOGGED_OUT, T0 + 60)
    assert board.available() == []


def test_logout_twice_is_a_no_op() -> None:
    board = make_board("1001")
    assert board.logout("1001", T0) == []
    board.login("1001", T0)
    board.logout("1001", T0 + 1)
    assert board.logout("1001", T0 + 2) == []
    assert board.get("1001").since == T0 + 1


def test_logout_from_a_pause() -> None:
    board = logged_in("1001")
    board.pause("1001", "meal", T0 + 1)
    out = board.logout("1001", T0 + 2)
    assert [(t.old, t.new) for t in out] == [(AgentState.PAUSED, AgentState.LOGGED_OUT)]
    assert board.get("1001").pause_reason is None


def test_logout_from_wrap_up_is_allowed() -> None:
    board = logged_in("1001")
    in_wrap_up(board, "1001", T0 + 20)
    out = board.logout("1001", T0 + 25)
    assert [(t.old, t.new) for t in out] == [(AgentState.WRAP_UP, AgentState.LOGGED_OUT)]
    # The finished wrap-up does not come back to life at its time limit.
    assert board.expire(T0 + 1000) == []
    assert state_of(board, "1001") is AgentState.LOGGED_OUT


@pytest.mark.parametrize("busy", ["ringing", "on_call"])
def test_logout_is_refused_while_ringing_or_on_a_call(busy: str) -> None:
    board = logged_in("1001")
    if busy == "ringing":
        board.offer("1001", CALL, T0 + 1)
    else:
        on_call(board, "1001", T0 + 1)
    before = board.get("1001")
    with pytest.raises(AgentError) as exc:
        board.logout("1001", T0 + 5)
    assert error_id(exc) == "agent-busy"
    assert "1001" in str(exc.value)
    assert board.get("1001") == before


# -- pauses ---------------------------------------------------------------------------


def test_pause_from_available_logs_the_reason() -> None:
    board = logged_in("1001")
    out = board.pause("1001", "meal", T0 + 10)
    assert out == [
        Transition("1001", T0 + 10, AgentState.AVAILABLE, AgentState.PAUSED, reason="meal")
    ]
    status = board.get("1001")
    assert status.state is AgentState.PAUSED
    assert status.pause_reason == "meal"
    assert status.since == T0 + 10
    assert board.available() == []


def test_pause_with_an_unknown_reason_lists_the_known_ones() -> None:
    board = logged_in("1001")
    with pytest.raises(AgentError) as exc:
        board.pause("1001", "smoke", T0)
    assert error_id(exc) == "unknown-pause-reason"
    message = str(exc.value)
    assert "'smoke'" in message
    for reason in BoardSettings().pause_reasons:
        assert reason in message
    assert state_of(board, "1001") is AgentState.AVAILABLE


def test_pause_reasons_come_from_the_settings() -> None:
    settings = BoardSettings(pause_reasons=("lunch", "toilet"))
    board = logged_in("1001", settings=settings)
    with pytest.raises(AgentError) as exc:
        board.pause("1001", "break", T0)
    assert error_id(exc) == "unknown-pause-reason"
    assert "lunch, toilet" in str(exc.value)
    assert board.pause("1001", "toilet", T0 + 1)[0].reason == "toilet"


def test_pause_while_logged_out_is_refused() -> None:
    board = make_board("1001")
    with pytest.raises(AgentError) as exc:
        board.pause("1001", "break", T0)
    assert error_id(exc) == "agent-logged-out"
    assert board.get("1001") == AgentStatus()


def test_pausing_again_with_the_same_reason_is_a_no_op() -> None:
    board = logged_in("1001")
    board.pause("1001", "break", T0 + 1)
    assert board.pause("1001", "break", T0 + 2) == []
    assert board.get("1001").since == T0 + 1


def test_a_reason_change_while_paused_is_a_logged_paused_to_paused_transition() -> None:
    board = logged_in("1001")
    board.pause("1001", "break", T0 + 1)
    out = board.pause("1001", "training", T0 + 2)
    assert out == [
        Transition("1001", T0 + 2, AgentState.PAUSED, AgentState.PAUSED, reason="training")
    ]
    assert board.get("1001").pause_reason == "training"
    assert board.get("1001").state is AgentState.PAUSED


def test_unpause_carries_the_reason_of_the_pause_it_ends() -> None:
    board = logged_in("1001")
    board.pause("1001", "break", T0 + 1)
    board.pause("1001", "coaching", T0 + 2)
    out = board.unpause("1001", T0 + 300)
    assert out == [
        Transition("1001", T0 + 300, AgentState.PAUSED, AgentState.AVAILABLE, reason="coaching")
    ]
    status = board.get("1001")
    assert status.state is AgentState.AVAILABLE
    assert status.pause_reason is None
    assert status.idle_since == T0 + 300


@pytest.mark.parametrize("setup", ["available", "logged_out"])
def test_unpause_when_not_paused_is_refused(setup: str) -> None:
    board = logged_in("1001") if setup == "available" else make_board("1001")
    with pytest.raises(AgentError) as exc:
        board.unpause("1001", T0 + 1)
    assert error_id(exc) == "agent-not-paused"


def test_every_pause_change_is_logged_with_its_reason() -> None:
    board = logged_in("1001")
    log: list[Transition] = []
    log += board.pause("1001", "break", T0 + 1)
    log += board.pause("1001", "meal", T0 + 2)
    log += board.unpause("1001", T0 + 3)
    assert [(t.old, t.new, t.reason) for t in log] == [
        (AgentState.AVAILABLE, AgentState.PAUSED, "break"),
        (AgentState.PAUSED, AgentState.PAUSED, "meal"),
        (AgentState.PAUSED, AgentState.AVAILABLE, "meal"),
    ]
    assert [t.at for t in log] == [T0 + 1, T0 + 2, T0 + 3]


# -- pause asked during work: deferred -------------------------------------------------


@pytest.mark.parametrize("busy", ["ringing", "on_call", "wrap_up"])
def test_a_pause_asked_during_work_is_deferred(busy: str) -> None:
    board = logged_in("1001")
    if busy == "ringing":
        board.offer("1001", CALL, T0 + 1)
        expected = AgentState.RINGING
    elif busy == "on_call":
        on_call(board, "1001", T0 + 1)
        expected = AgentState.ON_CALL
    else:
        in_wrap_up(board, "1001", T0 + 20)
        expected = AgentState.WRAP_UP
    assert board.pause("1001", "meal", T0 + 21) == []
    status = board.get("1001")
    assert status.state is expected
    assert status.pending_pause == "meal"
    assert status.pause_reason is None
    assert status.call == CALL


def test_a_deferred_pause_survives_the_call_and_applies_when_wrap_up_is_finished() -> None:
    board = logged_in("1001")
    board.offer("1001", CALL, T0 + 1)
    board.pause("1001", "meal", T0 + 2)
    board.answered("1001", CALL, T0 + 3)
    assert board.get("1001").pending_pause == "meal"
    board.call_ended("1001", CALL, T0 + 60)
    assert board.get("1001").pending_pause == "meal"
    assert board.available() == []

    out = board.finish_wrap_up("1001", T0 + 70)
    assert out == [
        Transition("1001", T0 + 70, AgentState.WRAP_UP, AgentState.PAUSED, "meal", call=CALL)
    ]
    status = board.get("1001")
    assert status.state is AgentState.PAUSED
    assert status.pause_reason == "meal"
    assert status.pending_pause is None
    assert board.available() == []
    # The applied pause ends like any other, carrying its reason.
    assert board.unpause("1001", T0 + 80)[0].reason == "meal"


def test_a_deferred_pause_applies_when_wrap_up_times_out() -> None:
    board = logged_in("1001", settings=BoardSettings(wrap_up_seconds=30.0))
    on_call(board, "1001", T0 + 1)
    board.pause("1001", "training", T0 + 5)
    board.call_ended("1001", CALL, T0 + 40)
    assert board.expire(T0 + 69.9) == []
    out = board.expire(T0 + 70)
    assert out == [
        Transition("1001", T0 + 70, AgentState.WRAP_UP, AgentState.PAUSED, "training", CALL)
    ]
    assert board.get("1001").pause_reason == "training"
    assert board.get("1001").pending_pause is None


def test_the_latest_deferred_pause_reason_wins() -> None:
    board = logged_in("1001")
    on_call(board, "1001", T0 + 1)
    board.pause("1001", "break", T0 + 5)
    board.pause("1001", "meeting", T0 + 6)
    board.call_ended("1001", CALL, T0 + 40)
    out = board.finish_wrap_up("1001", T0 + 45)
    assert [t.reason for t in out] == ["meeting"]


def test_a_deferred_pause_with_an_unknown_reason_is_refused_at_once() -> None:
    board = logged_in("1001")
    on_call(board, "1001", T0 + 1)
    with pytest.raises(AgentError) as exc:
        board.pause("1001", "nap", T0 + 5)
    assert error_id(exc) == "unknown-pause-reason"
    assert board.get("1001").pending_pause is None


def test_unpause_before_the_wrap_up_ends_cancels_the_deferred_pause() -> None:
    board = logged_in("1001")
    on_call(board, "1001", T0 + 1)
    board.pause("1001", "break", T0 + 5)
    assert board.unpause("1001", T0 + 6) == []
    status = board.get("1001")
    assert status.state is AgentState.ON_CALL
    assert status.pending_pause is None
    board.call_ended("1001", CALL, T0 + 40)
    out = board.finish_wrap_up("1001", T0 + 45)
    assert [(t.new, t.reason) for t in out] == [(AgentState.AVAILABLE, "wrap-up-done")]


def test_unpause_in_wrap_up_cancels_the_deferred_pause_before_expiry() -> None:
    board = logged_in("1001", settings=BoardSettings(wrap_up_seconds=30.0))
    in_wrap_up(board, "1001", T0 + 20)
    board.pause("1001", "break", T0 + 21)
    board.unpause("1001", T0 + 22)
    out = board.expire(T0 + 50)
    assert [(t.new, t.reason) for t in out] == [(AgentState.AVAILABLE, "wrap-up-timeout")]


@pytest.mark.parametrize("ending", ["not_answered", "withdrawn"])
def test_a_pause_asked_while_ringing_applies_when_the_offer_ends_without_a_call(
    ending: str,
) -> None:
    board = logged_in("1001", settings=BoardSettings(max_missed=5))
    board.offer("1001", CALL, T0 + 1)
    board.pause("1001", "break", T0 + 2)
    if ending == "not_answered":
        board.not_answered("1001", CALL, T0 + 11)
    else:
        board.withdrawn("1001", CALL, T0 + 11)
    status = board.get("1001")
    assert status.state is AgentState.PAUSED
    assert status.pause_reason == "break"
    assert board.available() == []


# -- offers -----------------------------------------------------------------------------


def test_offer_rings_an_available_agent_and_keeps_their_place_in_line() -> None:
    board = logged_in("1001")
    out = board.offer("1001", CALL, T0 + 5)
    assert out == [Transition("1001", T0 + 5, AgentState.AVAILABLE, AgentState.RINGING, call=CALL)]
    status = board.get("1001")
    assert status.state is AgentState.RINGING
    assert status.call == CALL
    assert status.since == T0 + 5
    assert status.idle_since == T0


@pytest.mark.parametrize("setup", ["logged_out", "paused", "ringing", "on_call", "wrap_up"])
def test_only_available_agents_can_be_offered_a_call(setup: str) -> None:
    board = logged_in("1001")
    if setup == "logged_out":
        board.logout("1001", T0 + 1)
    elif setup == "paused":
        board.pause("1001", "break", T0 + 1)
    elif setup == "ringing":
        board.offer("1001", OTHER_CALL, T0 + 1)
    elif setup == "on_call":
        on_call(board, "1001", T0 + 1, OTHER_CALL)
    else:
        in_wrap_up(board, "1001", T0 + 20, OTHER_CALL)
    before = board.get("1001")
    with pytest.raises(AgentError) as exc:
        board.offer("1001", CALL, T0 + 30)
    assert error_id(exc) == "agent-unavailable"
    assert setup in str(exc.value)
    assert board.get("1001") == before


def test_available_never_lists_agents_who_are_not_available() -> None:
    board = logged_in("1001", "1002", "1003", "1004", "1005", "1006")
    board.logout("1001", T0 + 1)
    board.pause("1002", "break", T0 + 1)
    board.offer("1003", "c3", T0 + 1)
    on_call(board, "1004", T0 + 1, "c4")
    in_wrap_up(board, "1005", T0 + 20, "c5")
    assert [a.staff_no for a, _ in board.available()] == ["1006"]
    assert [a.staff_no for a, _ in board.available("support")] == ["1006"]


def test_answered_puts_the_agent_on_the_call_and_resets_misses() -> None:
    board = logged_in("1001", settings=BoardSettings(max_missed=3))
    board.offer("1001", "c1", T0 + 1)
    board.not_answered("1001", "c1", T0 + 11)
    board.offer("1001", CALL, T0 + 20)
    out = board.answered("1001", CALL, T0 + 22)
    assert out == [Transition("1001", T0 + 22, AgentState.RINGING, AgentState.ON_CALL, call=CALL)]
    status = board.get("1001")
    assert status.state is AgentState.ON_CALL
    assert status.missed_in_row == 0
    assert status.since == T0 + 22


def test_answered_twice_for_the_same_call_is_a_no_op() -> None:
    board = logged_in("1001")
    on_call(board, "1001", T0 + 1)
    before = board.get("1001")
    assert board.answered("1001", CALL, T0 + 9) == []
    assert board.get("1001") == before


# -- wrap-up ----------------------------------------------------------------------------


def test_call_ended_starts_a_wrap_up_of_the_configured_length() -> None:
    board = logged_in("1001", settings=BoardSettings(wrap_up_seconds=45.0))
    on_call(board, "1001", T0 + 1)
    out = board.call_ended("1001", CALL, T0 + 100)
    assert out == [Transition("1001", T0 + 100, AgentState.ON_CALL, AgentState.WRAP_UP, call=CALL)]
    status = board.get("1001")
    assert status.state is AgentState.WRAP_UP
    assert status.wrap_up_until == T0 + 145
    assert status.call == CALL
    assert board.available() == []


def test_call_ended_for_another_call_or_state_is_ignored() -> None:
    board = logged_in("1001")
    assert board.call_ended("1001", CALL, T0 + 1) == []
    on_call(board, "1001", T0 + 1)
    before = board.get("1001")
    assert board.call_ended("1001", OTHER_CALL, T0 + 50) == []
    assert board.get("1001") == before


def test_expire_before_the_limit_does_nothing() -> None:
    board = logged_in("1001", settings=BoardSettings(wrap_up_seconds=30.0))
    in_wrap_up(board, "1001", T0 + 100)
    before = board.get("1001")
    assert board.expire(T0 + 129.999) == []
    assert board.get("1001") == before
    assert board.available() == []


@pytest.mark.parametrize("late", [0.0, 0.5, 600.0])
def test_expire_at_or_after_the_limit_makes_the_agent_available(late: float) -> None:
    board = logged_in("1001", settings=BoardSettings(wrap_up_seconds=30.0))
    in_wrap_up(board, "1001", T0 + 100)
    now = T0 + 130 + late
    out = board.expire(now)
    assert out == [
        Transition("1001", now, AgentState.WRAP_UP, AgentState.AVAILABLE, "wrap-up-timeout", CALL)
    ]
    status = board.get("1001")
    assert status.state is AgentState.AVAILABLE
    assert status.idle_since == now
    assert status.call is None
    assert status.wrap_up_until is None
    assert board.expire(now + 1) == []


def test_expire_only_ends_the_wrap_ups_that_are_due() -> None:
    board = logged_in("1001", "1002", "1003", settings=BoardSettings(wrap_up_seconds=30.0))
    in_wrap_up(board, "1001", T0 + 100, "c1")
    in_wrap_up(board, "1002", T0 + 120, "c2")
    board.pause("1003", "break", T0 + 1)
    out = board.expire(T0 + 140)
    assert [(t.staff_no, t.reason) for t in out] == [("1001", "wrap-up-timeout")]
    assert state_of(board, "1002") is AgentState.WRAP_UP
    assert state_of(board, "1003") is AgentState.PAUSED


def test_finish_wrap_up_early_makes_the_agent_available() -> None:
    board = logged_in("1001")
    in_wrap_up(board, "1001", T0 + 100)
    out = board.finish_wrap_up("1001", T0 + 105)
    assert out == [
        Transition("1001", T0 + 105, AgentState.WRAP_UP, AgentState.AVAILABLE, "wrap-up-done", CALL)
    ]
    assert board.get("1001").idle_since == T0 + 105
    # The wrap-up's time limit no longer applies.
    assert board.expire(T0 + 10_000) == []


def test_finish_wrap_up_outside_wrap_up_is_a_no_op() -> None:
    board = logged_in("1001")
    on_call(board, "1001", T0 + 1)
    before = board.get("1001")
    assert board.finish_wrap_up("1001", T0 + 5) == []
    assert board.get("1001") == before


def test_an_agent_in_wrap_up_is_never_offered() -> None:
    board = logged_in("1001", settings=BoardSettings(wrap_up_seconds=30.0))
    in_wrap_up(board, "1001", T0 + 100)
    for now in (T0 + 100, T0 + 115, T0 + 129.9):
        board.expire(now)
        with pytest.raises(AgentError) as exc:
            board.offer("1001", OTHER_CALL, now)
        assert error_id(exc) == "agent-unavailable"
    board.expire(T0 + 130)
    assert board.offer("1001", OTHER_CALL, T0 + 130)[0].new is AgentState.RINGING


# -- misses -----------------------------------------------------------------------------


def test_a_missed_offer_counts_and_puts_the_agent_back_in_line() -> None:
    board = logged_in("1001", settings=BoardSettings(max_missed=2))
    board.offer("1001", CALL, T0 + 50)
    out = board.not_answered("1001", CALL, T0 + 60)
    assert out == [Transition("1001", T0 + 60, AgentState.RINGING, AgentState.AVAILABLE, call=CALL)]
    status = board.get("1001")
    assert status.state is AgentState.AVAILABLE
    assert status.missed_in_row == 1
    assert status.call is None
    # Not "more idle" for having missed it: the place in line is the old one.
    assert status.idle_since == T0


@pytest.mark.parametrize("max_missed", [1, 2, 3])
def test_max_missed_in_a_row_pauses_with_missed_calls(max_missed: int) -> None:
    board = logged_in("1001", settings=BoardSettings(max_missed=max_missed))
    transitions: list[Transition] = []
    for n in range(max_missed):
        call = f"c{n}"
        board.offer("1001", call, T0 + 100 * n)
        transitions = board.not_answered("1001", call, T0 + 100 * n + 10)
        if n < max_missed - 1:
            assert state_of(board, "1001") is AgentState.AVAILABLE
            assert board.get("1001").missed_in_row == n + 1
    last = T0 + 100 * (max_missed - 1) + 10
    assert transitions == [
        Transition(
            "1001", last, AgentState.RINGING, AgentState.PAUSED, MISSED_CALLS, f"c{max_missed - 1}"
        )
    ]
    status = board.get("1001")
    assert status.state is AgentState.PAUSED
    assert status.pause_reason == MISSED_CALLS == "missed-calls"
    assert status.missed_in_row == max_missed
    assert board.available() == []


def test_unpausing_after_missed_calls_starts_the_count_again() -> None:
    board = logged_in("1001", settings=BoardSettings(max_missed=2))
    for n in range(2):
        board.offer("1001", f"c{n}", T0 + n)
        board.not_answered("1001", f"c{n}", T0 + n + 0.5)
    out = board.unpause("1001", T0 + 100)
    assert out[0].reason == MISSED_CALLS
    assert board.get("1001").missed_in_row == 0
    board.offer("1001", "c9", T0 + 101)
    board.not_answered("1001", "c9", T0 + 111)
    assert state_of(board, "1001") is AgentState.AVAILABLE


def test_an_answer_between_misses_resets_the_count() -> None:
    board = logged_in("1001", settings=BoardSettings(max_missed=2, wrap_up_seconds=5.0))
    board.offer("1001", "c1", T0 + 1)
    board.not_answered("1001", "c1", T0 + 5)
    on_call(board, "1001", T0 + 10, "c2")
    board.call_ended("1001", "c2", T0 + 60)
    board.finish_wrap_up("1001", T0 + 61)
    assert board.get("1001").missed_in_row == 0
    board.offer("1001", "c3", T0 + 70)
    board.not_answered("1001", "c3", T0 + 80)
    assert state_of(board, "1001") is AgentState.AVAILABLE
    assert board.get("1001").missed_in_row == 1


def test_a_withdrawn_offer_is_not_a_miss() -> None:
    board = logged_in("1001", settings=BoardSettings(max_missed=2))
    board.offer("1001", "c1", T0 + 1)
    board.not_answered("1001", "c1", T0 + 5)
    for n in range(5):
        board.offer("1001", f"w{n}", T0 + 10 + n)
        out = board.withdrawn("1001", f"w{n}", T0 + 10.5 + n)
        assert [(t.old, t.new) for t in out] == [(AgentState.RINGING, AgentState.AVAILABLE)]
    status = board.get("1001")
    assert status.state is AgentState.AVAILABLE
    assert status.missed_in_row == 1
    assert status.idle_since == T0
    assert status.call is None


@pytest.mark.parametrize("event", ["not_answered", "withdrawn"])
def test_an_offer_ending_for_another_call_is_ignored(event: str) -> None:
    board = logged_in("1001")
    board.offer("1001", CALL, T0 + 1)
    before = board.get("1001")
    out = getattr(board, event)("1001", OTHER_CALL, T0 + 5)
    assert out == []
    assert board.get("1001") == before


@pytest.mark.parametrize("event", ["not_answered", "withdrawn"])
def test_an_offer_ending_after_the_answer_is_ignored(event: str) -> None:
    board = logged_in("1001", settings=BoardSettings(max_missed=1))
    on_call(board, "1001", T0 + 1)
    before = board.get("1001")
    assert getattr(board, event)("1001", CALL, T0 + 5) == []
    assert board.get("1001") == before


# -- who is available, in what order ---------------------------------------------------


def test_available_orders_longest_idle_first() -> None:
    board = make_board("1001", "1002", "1003")
    board.login("1002", T0 + 1)
    board.login("1003", T0 + 2)
    board.login("1001", T0 + 3)
    assert [a.staff_no for a, _ in board.available()] == ["1002", "1003", "1001"]


def test_equal_idle_times_break_ties_by_staff_number() -> None:
    board = make_board("1003", "1001", "1002")
    for staff_no in ("1003", "1001", "1002"):
        board.login(staff_no, T0)
    assert [a.staff_no for a, _ in board.available()] == ["1001", "1002", "1003"]


def test_available_filters_by_skill() -> None:
    board = AgentBoard()
    board.add(make_agent("1001", frozenset({"support"})))
    board.add(make_agent("1002", frozenset({"billing"})))
    board.add(make_agent("1003", frozenset({"support", "billing"})))
    for n, staff_no in enumerate(("1001", "1002", "1003")):
        board.login(staff_no, T0 + n)
    assert [a.staff_no for a, _ in board.available("billing")] == ["1002", "1003"]
    assert [a.staff_no for a, _ in board.available("support")] == ["1001", "1003"]
    assert board.available("complaints") == []
    assert [a.staff_no for a, _ in board.available()] == ["1001", "1002", "1003"]


def test_a_missed_offer_keeps_the_agent_ahead_of_more_recently_idle_agents() -> None:
    board = logged_in("1001", settings=BoardSettings(max_missed=3))
    board.add(make_agent("1002"))
    board.login("1002", T0 + 10)
    board.offer("1001", CALL, T0 + 20)
    assert [a.staff_no for a, _ in board.available()] == ["1002"]
    board.not_answered("1001", CALL, T0 + 30)
    assert [a.staff_no for a, _ in board.available()] == ["1001", "1002"]


def test_a_finished_call_sends_the_agent_to_the_back_of_the_line() -> None:
    board = logged_in("1001")
    board.add(make_agent("1002"))
    board.login("1002", T0 + 10)
    in_wrap_up(board, "1001", T0 + 100)
    board.finish_wrap_up("1001", T0 + 110)
    assert [a.staff_no for a, _ in board.available()] == ["1002", "1001"]


def test_an_unpaused_agent_is_idle_from_the_unpause() -> None:
    board = logged_in("1001")
    board.add(make_agent("1002"))
    board.login("1002", T0 + 10)
    board.pause("1001", "break", T0 + 20)
    board.unpause("1001", T0 + 30)
    assert [(a.staff_no, st.idle_since) for a, st in board.available()] == [
        ("1002", T0 + 10),
        ("1001", T0 + 30),
    ]


# -- a whole shift ----------------------------------------------------------------------


def test_a_call_cycle_logs_each_transition_once_in_order() -> None:
    board = make_board("1001", settings=BoardSettings(wrap_up_seconds=20.0))
    log: list[Transition] = []
    log += board.login("1001", T0)
    log += board.offer("1001", CALL, T0 + 10)
    log += board.answered("1001", CALL, T0 + 13)
    log += board.answered("1001", CALL, T0 + 14)
    log += board.call_ended("1001", CALL, T0 + 200)
    log += board.expire(T0 + 210)
    log += board.expire(T0 + 220)
    log += board.expire(T0 + 230)
    log += board.logout("1001", T0 + 240)
    assert [(t.at - T0, t.old, t.new, t.reason, t.call) for t in log] == [
        (0, AgentState.LOGGED_OUT, AgentState.AVAILABLE, None, None),
        (10, AgentState.AVAILABLE, AgentState.RINGING, None, CALL),
        (13, AgentState.RINGING, AgentState.ON_CALL, None, CALL),
        (200, AgentState.ON_CALL, AgentState.WRAP_UP, None, CALL),
        (220, AgentState.WRAP_UP, AgentState.AVAILABLE, "wrap-up-timeout", CALL),
        (240, AgentState.AVAILABLE, AgentState.LOGGED_OUT, None, None),
    ]
    assert all(t.staff_no == "1001" for t in log)
