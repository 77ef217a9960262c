"""What makes an agent's state survive a crash and never stick (callcenter/agents/domain.py):
offers that expire, states restored after a restart, the reconcile with Asterisk.

Pure: the time is a plain number, Asterisk's answers are plain sets."""

from __future__ import annotations

import pytest

from callcenter.agents.domain import (
    CALL_ADOPTED,
    CALL_ENDED_UNSEEN,
    DEVICE_GONE,
    OFFER_DIED,
    OFFER_EXPIRED,
    Agent,
    AgentBoard,
    AgentState,
    AgentStatus,
    BoardSettings,
    LiveChannel,
    restore,
)

T0 = 1_700_000_000.0
CALL = "1700000000.10"
SETTINGS = BoardSettings(wrap_up_seconds=30.0, offer_margin=5.0, default_ring_seconds=15.0)


def _board(*staff_nos: str) -> AgentBoard:
    board = AgentBoard(settings=SETTINGS)
    for staff_no in staff_nos:
        board.add(Agent(staff_no, f"agent {staff_no}", f"ep{staff_no}"))
        board.login(staff_no, T0 - 60)
    return board


# -- offers expire ----------------------------------------------------------------------


def test_given_an_offer_nobody_resolves_when_its_ring_time_and_margin_pass_then_it_expires() -> (
    None
):
    board = _board("1001")
    board.offer("1001", CALL, T0, ring_seconds=8.0)
    assert board.get("1001").ring_until == T0 + 8.0 + 5.0
    assert board.expire(T0 + 12.9) == []
    assert board.get("1001").state is AgentState.RINGING
    (t,) = board.expire(T0 + 13.0)
    assert (t.old, t.new, t.reason, t.call) == (
        AgentState.RINGING,
        AgentState.AVAILABLE,
        OFFER_EXPIRED,
        CALL,
    )
    status = board.get("1001")
    assert (status.call, status.ring_until, status.missed_in_row) == (None, None, 0)
    # Not the agent's fault: back in line where they were, not "more idle".
    assert status.idle_since == T0 - 60


def test_an_offer_without_a_ring_time_still_ends() -> None:
    board = _board("1001")
    board.offer("1001", CALL, T0)
    assert board.get("1001").ring_until == T0 + 15.0 + 5.0


def test_an_answered_offer_never_expires() -> None:
    board = _board("1001")
    board.offer("1001", CALL, T0, ring_seconds=2.0)
    board.answered("1001", CALL, T0 + 1.0)
    assert board.get("1001").ring_until is None
    assert board.expire(T0 + 600.0) == []
    assert board.get("1001").state is AgentState.ON_CALL


def test_an_expired_offer_applies_the_pause_asked_for_while_ringing() -> None:
    board = _board("1001")
    board.offer("1001", CALL, T0, ring_seconds=2.0)
    board.pause("1001", "break", T0 + 1.0)
    (t,) = board.expire(T0 + 7.0)
    assert (t.new, t.reason) == (AgentState.PAUSED, "break")


def test_a_withdrawn_offer_says_why_in_the_log() -> None:
    board = _board("1001")
    board.offer("1001", CALL, T0, ring_seconds=8.0)
    (t,) = board.withdrawn("1001", CALL, T0 + 0.2, "phone-unavailable")
    assert (t.new, t.reason) == (AgentState.AVAILABLE, "phone-unavailable")
    assert board.get("1001").ring_until is None


# -- restore after a restart ------------------------------------------------------------


def test_a_wrap_up_saved_with_its_end_is_restored_as_saved_and_ends_on_time() -> None:
    saved = AgentStatus(AgentState.WRAP_UP, T0 - 10, call=CALL, wrap_up_until=T0 + 20)
    assert restore(saved, T0, SETTINGS) == saved
    board = AgentBoard(settings=SETTINGS)
    board.add(Agent("1001", "a", "ep1001"), restore(saved, T0, SETTINGS))
    assert board.expire(T0 + 19.9) == []
    (t,) = board.expire(T0 + 20.0)
    assert (t.new, t.reason) == (AgentState.AVAILABLE, "wrap-up-timeout")


def test_a_wrap_up_whose_end_passed_while_down_ends_on_the_first_tick() -> None:
    saved = AgentStatus(AgentState.WRAP_UP, T0 - 100, call=CALL, wrap_up_until=T0 - 70)
    board = AgentBoard(settings=SETTINGS)
    board.add(Agent("1001", "a", "ep1001"), restore(saved, T0, SETTINGS))
    (t,) = board.expire(T0 + 0.5)
    assert t.new is AgentState.AVAILABLE


def test_a_wrap_up_saved_without_its_end_ends_wrap_up_seconds_after_it_began() -> None:
    saved = AgentStatus(AgentState.WRAP_UP, T0 - 10, call=CALL)
    assert restore(saved, T0, SETTINGS).wrap_up_until == T0 + 20


@pytest.mark.parametrize("ring_until", [None, T0 - 1.0])
def test_an_offer_past_its_end_or_without_one_died_with_the_last_process(
    ring_until: float | None,
) -> None:
    saved = AgentStatus(
        AgentState.RINGING, T0 - 20, idle_since=T0 - 90, call=CALL, ring_until=ring_until
    )
    assert restore(saved, T0, SETTINGS) == AgentStatus(AgentState.AVAILABLE, T0, idle_since=T0 - 90)


def test_an_offer_that_died_with_a_pause_pending_restores_the_pause() -> None:
    saved = AgentStatus(AgentState.RINGING, T0 - 20, call=CALL, pending_pause="lunch")
    restored = restore(saved, T0, SETTINGS)
    assert (restored.state, restored.pause_reason) == (AgentState.PAUSED, "lunch")


def test_an_offer_still_in_its_time_and_a_call_are_kept_for_the_reconcile() -> None:
    ringing = AgentStatus(AgentState.RINGING, T0 - 2, call=CALL, ring_until=T0 + 8)
    talking = AgentStatus(AgentState.ON_CALL, T0 - 50, call=CALL)
    assert restore(ringing, T0, SETTINGS) == ringing
    assert restore(talking, T0, SETTINGS) == talking


# -- reconcile with Asterisk ------------------------------------------------------------


def _mixed_board() -> AgentBoard:
    """1001 on a call, 1002 ringing, 1003 in wrap-up, 1004 available, 1005 logged out."""
    board = _board("1001", "1002", "1003", "1004")
    board.offer("1001", "call-1", T0 - 30, 10.0)
    board.answered("1001", "call-1", T0 - 28)
    board.offer("1002", "call-2", T0 - 3, 10.0)
    board.offer("1003", "call-3", T0 - 40, 10.0)
    board.answered("1003", "call-3", T0 - 39)
    board.call_ended("1003", "call-3", T0 - 20)
    board.add(Agent("1005", "agent 1005", "ep1005"))
    return board


def _up(endpoint: str, call: str) -> LiveChannel:
    return LiveChannel(endpoint, call, up=True)


def test_given_calls_that_ended_while_down_when_reconciled_then_wrap_up_counts_from_now() -> None:
    board = _mixed_board()
    out = board.reconcile([], unregistered=None, asked_at=T0, now=T0 + 1)
    moved = {t.staff_no: (t.new, t.reason) for t in out}
    assert moved == {
        "1001": (AgentState.WRAP_UP, CALL_ENDED_UNSEEN),
        "1002": (AgentState.AVAILABLE, OFFER_DIED),
    }
    assert board.get("1001").wrap_up_until == T0 + 1 + 30
    assert board.get("1003").state is AgentState.WRAP_UP  # its own end still holds
    assert board.get("1003").wrap_up_until == T0 - 20 + 30


def test_calls_and_offers_with_a_live_channel_are_left_alone() -> None:
    board = _mixed_board()
    # An Originate's channel carries no call id of ours: any channel keeps an offer.
    live = [_up("ep1001", "call-1"), LiveChannel("ep1002", "1700000001.5", up=False)]
    assert board.reconcile(live, set(), asked_at=T0, now=T0 + 1) == []
    assert board.get("1001").state is AgentState.ON_CALL
    assert board.get("1002").state is AgentState.RINGING


def test_an_agent_app_queue_connected_while_we_were_down_is_on_that_call() -> None:
    board = _mixed_board()
    # 1001's call ended and the fallback gave them another; 1004 was free and took one.
    live = [_up("ep1001", "call-7"), _up("ep1004", "call-8"), _up("ep1002", "call-2")]
    out = board.reconcile(live, None, asked_at=T0, now=T0 + 1)
    assert [(t.staff_no, t.new, t.reason, t.call) for t in out] == [
        ("1001", AgentState.WRAP_UP, CALL_ENDED_UNSEEN, "call-1"),
        ("1001", AgentState.ON_CALL, CALL_ADOPTED, "call-7"),
        ("1004", AgentState.ON_CALL, CALL_ADOPTED, "call-8"),
    ]
    assert (board.get("1001").call, board.get("1004").call) == ("call-7", "call-8")
    # Its hang-up (the router's Hangup handler) then starts the wrap-up as usual.
    board.call_ended("1004", "call-8", T0 + 5)
    assert board.get("1004").state is AgentState.WRAP_UP


def test_an_offer_made_after_asterisk_was_asked_is_not_released() -> None:
    board = _mixed_board()
    board.withdrawn("1002", "call-2", T0 - 2)
    board.offer("1002", "call-9", T0 + 0.5, 10.0)  # the new process's own, meanwhile
    board.reconcile([], None, asked_at=T0, now=T0 + 1)
    assert board.get("1002").state is AgentState.RINGING


def test_available_agents_without_a_registered_phone_are_logged_out() -> None:
    board = _mixed_board()
    out = board.reconcile(
        [_up("ep1001", "call-1")], {"ep1002", "ep1004", "ep1005"}, asked_at=T0, now=T0 + 1
    )
    moved = {t.staff_no: (t.new, t.reason) for t in out}
    # 1002's offer died, and its phone is gone too: released, then logged out.
    assert moved["1002"] == (AgentState.LOGGED_OUT, DEVICE_GONE)
    assert [t.new for t in out if t.staff_no == "1002"] == [
        AgentState.AVAILABLE,
        AgentState.LOGGED_OUT,
    ]
    assert moved["1004"] == (AgentState.LOGGED_OUT, DEVICE_GONE)
    assert "1005" not in moved  # logged out already
    assert board.get("1001").state is AgentState.ON_CALL
