"""Routing decisions (callcenter/routing/decide.py): the ring budget, who is rung, for how long.

Pure: the board is built in memory and `now` is a plain number.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from typing import Any

import pytest

from callcenter.agents.domain import Agent, AgentBoard, AgentState
from callcenter.config import RingConfig
from callcenter.routing.decide import (
    Closed,
    Decision,
    Ring,
    RouteSettings,
    SystemAnswer,
    Wait,
    WaitingCall,
    assign,
    budget_left,
    decide,
)

T0 = 1_700_000_000.0
DEFAULT = RouteSettings()
EPS = 1e-6  # epoch floats near 1.7e9 carry ~2e-7 of rounding


def board_with(
    *idle: tuple[str, float], skills: dict[str, frozenset[str]] | None = None
) -> AgentBoard:
    """Agents logged in at the given times (so idle since then), all available."""
    board = AgentBoard()
    for staff_no, since in idle:
        agent_skills = (skills or {}).get(staff_no, frozenset({"support"}))
        board.add(Agent(staff_no, f"agent {staff_no}", f"ep{staff_no}", agent_skills))
        board.login(staff_no, since)
    return board


def call_at(offset: float = 0.0, linkedid: str = "c1", **changes: Any) -> WaitingCall:
    return replace(WaitingCall(linkedid=linkedid, arrived_at=T0 + offset), **changes)


def rung(decision: Decision) -> Ring:
    assert isinstance(decision, Ring), decision
    return decision


def waited(decision: Decision) -> Wait:
    assert isinstance(decision, Wait), decision
    return decision


# -- budget arithmetic ------------------------------------------------------------------


def test_default_budget_is_three_rings_of_five_seconds() -> None:
    ring = RingConfig()
    assert ring.cadence_seconds == 5.0
    assert ring.budget_rings == 3
    assert ring.budget_seconds == 15.0


def test_north_american_cadence_budget() -> None:
    assert RingConfig(cadence_seconds=6.0).budget_seconds == 18.0
    assert RingConfig(cadence_seconds=6.0, budget_rings=4).budget_seconds == 24.0


@pytest.mark.parametrize(
    ("ring", "elapsed", "left"),
    [
        (RingConfig(), 0.0, 15.0),
        (RingConfig(), 4.0, 11.0),
        (RingConfig(), 15.0, 0.0),
        (RingConfig(), 20.0, -5.0),
        (RingConfig(cadence_seconds=6.0), 0.0, 18.0),
        (RingConfig(cadence_seconds=6.0), 7.5, 10.5),
    ],
)
def test_budget_left_counts_from_the_arrival(ring: RingConfig, elapsed: float, left: float) -> None:
    call = call_at(0.0)
    assert budget_left(call, T0 + elapsed, ring) == pytest.approx(left)


def test_ring_defaults() -> None:
    assert DEFAULT.ring == RingConfig()
    assert (DEFAULT.max_ring_per_agent, DEFAULT.min_ring, DEFAULT.margin) == (10.0, 2.0, 0.5)


def test_with_others_free_an_agent_rings_at_most_their_share() -> None:
    board = board_with(("1001", T0 - 100), ("1002", T0 - 50))
    decision = rung(decide(call_at(), [call_at()], board, T0, DEFAULT))
    assert decision.agent.staff_no == "1001"
    assert decision.seconds == 10.0  # min(max_ring_per_agent, 15 - 0.5)


def test_with_others_free_late_in_the_budget_the_ring_is_what_is_left_less_the_margin() -> None:
    board = board_with(("1001", T0 - 100), ("1002", T0 - 50))
    decision = rung(decide(call_at(), [], board, T0 + 6.0, DEFAULT))
    assert decision.seconds == pytest.approx(8.5)  # 15 - 6 - 0.5 < 10


def test_the_only_free_agent_rings_for_all_that_is_left_less_the_margin() -> None:
    board = board_with(("1001", T0 - 100))
    assert rung(decide(call_at(), [], board, T0, DEFAULT)).seconds == pytest.approx(14.5)
    assert rung(decide(call_at(), [], board, T0 + 3.0, DEFAULT)).seconds == pytest.approx(11.5)


def test_a_six_second_cadence_gives_a_longer_ring() -> None:
    settings = RouteSettings(ring=RingConfig(cadence_seconds=6.0))
    board = board_with(("1001", T0 - 100))
    assert rung(decide(call_at(), [], board, T0, settings)).seconds == pytest.approx(17.5)
    assert rung(decide(call_at(), [], board, T0 + 14.0, settings)).seconds == pytest.approx(3.5)
    # Past where a 5 s cadence would already have had the system answer.
    assert isinstance(decide(call_at(), [], board, T0 + 13.0, DEFAULT), SystemAnswer)
    assert isinstance(decide(call_at(), [], board, T0 + 13.0, settings), Ring)


def test_max_ring_per_agent_and_margin_come_from_the_settings() -> None:
    settings = RouteSettings(max_ring_per_agent=6.0, margin=1.0)
    two = board_with(("1001", T0 - 100), ("1002", T0 - 50))
    one = board_with(("1001", T0 - 100))
    assert rung(decide(call_at(), [], two, T0, settings)).seconds == 6.0
    assert rung(decide(call_at(), [], one, T0, settings)).seconds == pytest.approx(14.0)


def test_the_system_answers_once_less_than_min_ring_is_left() -> None:
    board = board_with(("1001", T0 - 100))
    # 15 - 12.5 - 0.5 = 2.0 = min_ring: still worth a ring.
    assert rung(decide(call_at(), [], board, T0 + 12.5, DEFAULT)).seconds == pytest.approx(2.0)
    for elapsed in (12.51, 13.0, 14.9, 15.0, 30.0):
        assert decide(call_at(), [], board, T0 + elapsed, DEFAULT) == SystemAnswer()


def test_the_system_answers_when_the_budget_is_spent_even_with_nobody_free() -> None:
    board = board_with()
    assert decide(call_at(), [], board, T0 + 13.0, DEFAULT) == SystemAnswer()


def test_min_ring_comes_from_the_settings() -> None:
    board = board_with(("1001", T0 - 100))
    settings = RouteSettings(min_ring=4.0)
    assert isinstance(decide(call_at(), [], board, T0 + 10.0, settings), Ring)  # 4.5 left
    assert isinstance(decide(call_at(), [], board, T0 + 11.0, settings), SystemAnswer)  # 3.5


GRID_SETTINGS = [
    pytest.param(DEFAULT, id="5s-cadence"),
    pytest.param(RouteSettings(ring=RingConfig(cadence_seconds=6.0)), id="6s-cadence"),
    pytest.param(RouteSettings(max_ring_per_agent=4.0, min_ring=1.0, margin=0.25), id="short"),
    pytest.param(
        RouteSettings(ring=RingConfig(cadence_seconds=6.0, budget_rings=4), margin=1.0),
        id="4-rings",
    ),
]


@pytest.mark.parametrize("settings", GRID_SETTINGS)
def test_no_decision_ever_lets_a_call_ring_past_its_budget(settings: RouteSettings) -> None:
    budget = settings.ring.budget_seconds
    answer_by = budget - settings.margin - settings.min_ring  # after this the system answers
    checked = {Ring: 0, Wait: 0, SystemAnswer: 0}
    for arrival_offset, n_agents, step in itertools.product(
        (0.0, 0.37, 1234.56), range(4), range(int((budget + 2) / 0.03))
    ):
        arrival = T0 + arrival_offset
        now = arrival + step * 0.03
        board = board_with(*[(f"10{i:02d}", T0 - 100 + i) for i in range(n_agents)])
        call = WaitingCall("c1", arrival)
        decision = decide(call, [call], board, now, settings)
        ringable = arrival + budget - settings.margin - now
        if isinstance(decision, Ring):
            assert now + decision.seconds <= arrival + budget + EPS, (now - arrival, decision)
            assert decision.seconds >= settings.min_ring - EPS
            if n_agents > 1:
                assert decision.seconds <= settings.max_ring_per_agent
            assert ringable >= settings.min_ring - EPS
        elif isinstance(decision, Wait):
            assert n_agents == 0
            assert decision.seconds >= 0.0
            assert decision.seconds <= settings.wait_step
            assert now + decision.seconds <= arrival + answer_by + EPS, (now - arrival, decision)
        else:
            assert isinstance(decision, SystemAnswer), decision
            assert ringable < settings.min_ring + EPS
        checked[type(decision)] += 1
    # The grid really reaches every kind of decision.
    assert all(count > 0 for count in checked.values()), checked


def test_a_ring_is_never_longer_than_what_is_left_less_the_margin() -> None:
    board = board_with(("1001", T0 - 100))
    for step in range(1, 300):
        now = T0 + step * 0.04
        decision = decide(call_at(), [], board, now, DEFAULT)
        if isinstance(decision, Ring):
            left = budget_left(call_at(), now, DEFAULT.ring)
            assert decision.seconds <= left - DEFAULT.margin + EPS, (step, decision)


def test_with_no_margin_a_ring_still_ends_inside_the_budget() -> None:
    settings = RouteSettings(margin=0.0)
    board = board_with(("1001", T0 - 100))
    call = WaitingCall("c1", 1000.0)
    decision = rung(decide(call, [], board, 1011.44, settings))
    assert 1011.44 + decision.seconds <= 1015.0


# -- waiting ----------------------------------------------------------------------------


def test_nobody_free_means_wait_a_step() -> None:
    board = board_with()
    assert decide(call_at(), [], board, T0, DEFAULT) == Wait(1.0, 1)
    assert decide(call_at(), [], board, T0, replace(DEFAULT, wait_step=2.5)) == Wait(2.5, 1)


def test_a_wait_shrinks_so_it_ends_where_the_system_must_answer() -> None:
    board = board_with()
    # The system must answer once 15 - 0.5 - 2.0 = 12.5 s have passed.
    assert waited(decide(call_at(), [], board, T0 + 12.0, DEFAULT)).seconds == pytest.approx(0.5)
    assert waited(decide(call_at(), [], board, T0 + 12.25, DEFAULT)).seconds == pytest.approx(0.25)
    assert waited(decide(call_at(), [], board, T0 + 12.5, DEFAULT)).seconds == 0.0
    assert waited(decide(call_at(), [], board, T0 + 11.0, DEFAULT)).seconds == 1.0


def test_agents_who_are_not_available_do_not_count_as_free() -> None:
    board = board_with(("1001", T0 - 500), ("1002", T0 - 400), ("1003", T0 - 300))
    board.pause("1001", "break", T0 - 10)
    board.offer("1002", "other", T0 - 5)
    board.offer("1003", "third", T0 - 5)
    board.answered("1003", "third", T0 - 4)
    board.call_ended("1003", "third", T0 - 1)  # wrap-up
    assert board.get("1003").state is AgentState.WRAP_UP
    assert isinstance(decide(call_at(), [], board, T0, DEFAULT), Wait)


def test_wait_position_counts_only_older_calls_of_the_same_skill() -> None:
    board = board_with()
    mine = call_at(10.0, "mine")
    waiting = [
        call_at(0.0, "older-support"),
        call_at(1.0, "older-support-dialling", dialling="1009"),
        call_at(2.0, "older-billing", skill="billing"),
        call_at(20.0, "newer-support"),
        mine,
    ]
    random.Random(7).shuffle(waiting)
    assert waited(decide(mine, waiting, board, T0 + 10.0, DEFAULT)).position == 3


def test_wait_position_is_one_without_older_calls_even_when_mine_is_not_listed() -> None:
    board = board_with()
    waiting = [call_at(20.0, "newer"), call_at(0.0, "billing", skill="billing")]
    assert waited(decide(call_at(10.0, "mine"), waiting, board, T0 + 10.0, DEFAULT)).position == 1


def test_calls_arriving_at_the_same_instant_queue_by_linkedid() -> None:
    board = board_with()
    a, b = call_at(0.0, "a"), call_at(0.0, "b")
    assert waited(decide(a, [a, b], board, T0, DEFAULT)).position == 1
    assert waited(decide(b, [a, b], board, T0, DEFAULT)).position == 2


# -- who gets rung ---------------------------------------------------------------------


def test_the_longest_idle_agent_is_chosen() -> None:
    board = board_with(("1001", T0 - 10), ("1002", T0 - 300), ("1003", T0 - 20))
    decision = rung(decide(call_at(), [], board, T0, DEFAULT))
    assert decision.agent.staff_no == "1002"
    assert decision.to_owner is False
    assert decision.agent is board.agents["1002"]


def test_an_agent_without_the_skill_is_never_chosen() -> None:
    skills = {"1001": frozenset({"support"}), "1002": frozenset({"billing", "support"})}
    board = board_with(("1001", T0 - 1000), ("1002", T0 - 10), skills=skills)
    billing = call_at(skill="billing")
    assert rung(decide(billing, [], board, T0, DEFAULT)).agent.staff_no == "1002"
    board.offer("1002", "other", T0)
    assert isinstance(decide(billing, [], board, T0, DEFAULT), Wait)
    assert assign(billing, [], board) is None


def test_other_free_agents_without_the_skill_do_not_shorten_the_ring() -> None:
    skills = {"1001": frozenset({"billing"}), "1002": frozenset({"support"})}
    board = board_with(("1001", T0 - 1000), ("1002", T0 - 10), skills=skills)
    assert rung(decide(call_at(), [], board, T0, DEFAULT)).seconds == pytest.approx(14.5)


def test_the_case_owner_is_rung_first_when_available() -> None:
    board = board_with(("1001", T0 - 1000), ("1002", T0 - 10))
    call = call_at(owner="1002")
    decision = rung(decide(call, [call], board, T0, DEFAULT))
    assert decision.agent.staff_no == "1002"
    assert decision.to_owner is True
    assert decision.seconds == 10.0


@pytest.mark.parametrize("owner_state", ["ringing", "paused", "logged_out", "unknown"])
def test_without_the_owner_free_the_normal_choice_is_made(owner_state: str) -> None:
    board = board_with(("1001", T0 - 10), ("1002", T0 - 1000), ("1003", T0 - 500))
    owner = "1002"
    if owner_state == "ringing":
        board.offer(owner, "other", T0 - 1)
    elif owner_state == "paused":
        board.pause(owner, "meal", T0 - 1)
    elif owner_state == "logged_out":
        board.logout(owner, T0 - 1)
    else:
        owner = "9999"
    # 1002 is the longest idle; when it is not free, 1003 is next.
    expected = "1002" if owner_state == "unknown" else "1003"
    decision = rung(decide(call_at(owner=owner), [], board, T0, DEFAULT))
    assert decision.agent.staff_no == expected
    assert decision.to_owner is False


def test_an_owner_without_the_call_skill_is_not_rung() -> None:
    skills = {"1001": frozenset({"billing"}), "1002": frozenset({"support"})}
    board = board_with(("1001", T0 - 10), ("1002", T0 - 5), skills=skills)
    decision = rung(decide(call_at(owner="1001"), [], board, T0, DEFAULT))
    assert decision.agent.staff_no == "1002"
    assert decision.to_owner is False


def test_an_agent_who_missed_the_call_is_skipped_while_others_are_free() -> None:
    board = board_with(("1001", T0 - 1000), ("1002", T0 - 10))
    call = call_at(tried=frozenset({"1001"}))
    assert rung(decide(call, [call], board, T0 + 5, DEFAULT)).agent.staff_no == "1002"


def test_an_agent_who_missed_the_call_is_rung_again_when_nobody_else_is_free() -> None:
    board = board_with(("1001", T0 - 1000), ("1002", T0 - 10))
    board.offer("1002", "other", T0)
    call = call_at(tried=frozenset({"1001"}))
    assert rung(decide(call, [call], board, T0 + 5, DEFAULT)).agent.staff_no == "1001"


def test_when_everyone_free_missed_the_call_the_longest_idle_is_rung_again() -> None:
    board = board_with(("1001", T0 - 10), ("1002", T0 - 1000))
    call = call_at(tried=frozenset({"1001", "1002"}))
    assert rung(decide(call, [call], board, T0 + 5, DEFAULT)).agent.staff_no == "1002"


def test_an_owner_who_missed_the_call_is_skipped_while_others_are_free() -> None:
    board = board_with(("1001", T0 - 1000), ("1002", T0 - 10))
    call = call_at(owner="1002", tried=frozenset({"1002"}))
    assert rung(decide(call, [call], board, T0 + 5, DEFAULT)).agent.staff_no == "1001"


# -- arrival order across calls --------------------------------------------------------


def test_a_newer_call_does_not_take_the_only_free_agent_from_an_older_one() -> None:
    board = board_with(("1001", T0 - 100))
    older, newer = call_at(0.0, "older"), call_at(3.0, "newer")
    waiting = [newer, older]
    assert waited(decide(newer, waiting, board, T0 + 3.0, DEFAULT)).position == 2
    assert assign(newer, waiting, board) is None
    assert rung(decide(older, waiting, board, T0 + 3.0, DEFAULT)).agent.staff_no == "1001"


def test_older_calls_pick_first_and_the_newer_call_gets_the_next_agent() -> None:
    board = board_with(("1001", T0 - 300), ("1002", T0 - 200), ("1003", T0 - 100))
    calls = [call_at(float(n), f"c{n}") for n in range(3)]
    shuffled = calls[:]
    random.Random(3).shuffle(shuffled)
    picks = [assign(c, shuffled, board) for c in calls]
    assert [p.staff_no if p else None for p in picks] == ["1001", "1002", "1003"]


def test_an_older_call_of_another_skill_does_not_hold_back_a_newer_call() -> None:
    skills = {"1001": frozenset({"support"})}
    board = board_with(("1001", T0 - 100), skills=skills)
    older = call_at(0.0, "older", skill="billing")
    newer = call_at(3.0, "newer")
    assert rung(decide(newer, [older, newer], board, T0 + 3, DEFAULT)).agent.staff_no == "1001"


def test_an_older_call_with_an_owner_takes_the_owner_not_the_longest_idle() -> None:
    board = board_with(("1001", T0 - 300), ("1002", T0 - 100))
    older = call_at(0.0, "older", owner="1002")
    newer = call_at(3.0, "newer")
    assert assign(older, [older, newer], board) == board.agents["1002"]
    assert assign(newer, [older, newer], board) == board.agents["1001"]


def test_calls_already_being_dialled_do_not_reserve_an_agent() -> None:
    board = board_with(("1001", T0 - 300), ("1002", T0 - 100))
    board.offer("1002", "older", T0 + 1)
    older = call_at(0.0, "older", dialling="1002")
    newer = call_at(3.0, "newer")
    decision = rung(decide(newer, [older, newer], board, T0 + 3, DEFAULT))
    assert decision.agent.staff_no == "1001"


def test_a_call_asking_while_listed_as_dialling_still_gets_an_agent() -> None:
    board = board_with(("1001", T0 - 300))
    listed = call_at(0.0, "c1", dialling="1009")
    asking = call_at(0.0, "c1")
    assert assign(asking, [listed], board) == board.agents["1001"]


# -- answered by the system -------------------------------------------------------------


def test_a_system_answered_call_rings_an_agent_for_the_full_share() -> None:
    board = board_with(("1001", T0 - 100))
    call = call_at(system_answered=True)
    for elapsed in (13.0, 15.0, 600.0):
        decision = rung(decide(call, [call], board, T0 + elapsed, DEFAULT))
        assert decision.seconds == DEFAULT.max_ring_per_agent
        assert decision.agent.staff_no == "1001"


def test_a_system_answered_call_is_never_system_answered_again() -> None:
    board = board_with()
    call = call_at(system_answered=True)
    for elapsed in (0.0, 12.9, 14.9, 15.0, 3600.0):
        decision = decide(call, [call], board, T0 + elapsed, DEFAULT)
        assert decision == Wait(DEFAULT.wait_step, 1)


def test_a_system_answered_call_goes_to_its_owner() -> None:
    board = board_with(("1001", T0 - 300), ("1002", T0 - 100))
    call = call_at(owner="1002", system_answered=True)
    decision = rung(decide(call, [call], board, T0 + 60, DEFAULT))
    assert (decision.agent.staff_no, decision.to_owner) == ("1002", True)


# -- opening hours ----------------------------------------------------------------------


def test_after_hours_a_new_call_is_closed() -> None:
    board = board_with(("1001", T0 - 100))
    assert decide(call_at(), [], board, T0, DEFAULT, open_now=False) == Closed()
    assert decide(call_at(), [], board, T0 + 14.0, DEFAULT, open_now=False) == Closed()


def test_after_hours_a_system_answered_call_keeps_being_routed() -> None:
    board = board_with(("1001", T0 - 100))
    call = call_at(system_answered=True)
    decision = rung(decide(call, [call], board, T0 + 30, DEFAULT, open_now=False))
    assert decision.agent.staff_no == "1001"
    empty = board_with()
    assert isinstance(decide(call, [call], empty, T0 + 30, DEFAULT, open_now=False), Wait)


# -- shifts -----------------------------------------------------------------------------


def test_agents_off_shift_are_not_rung_and_do_not_shorten_the_ring() -> None:
    board = board_with(("1001", T0 - 1000), ("1002", T0 - 10))

    def on_shift(agent: Agent) -> bool:
        return agent.staff_no != "1001"

    decision = rung(decide(call_at(), [], board, T0, DEFAULT, on_shift=on_shift))
    assert decision.agent.staff_no == "1002"
    assert decision.seconds == pytest.approx(14.5)
    assert isinstance(decide(call_at(), [], board, T0, DEFAULT, on_shift=lambda a: False), Wait)
