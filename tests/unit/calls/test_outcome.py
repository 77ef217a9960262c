"""Call outcomes and waits: the pure classification, then the tracker on recorded calls.

The transcripts in tests/fixtures/ami/dashboard were recorded with the router on
the project's Asterisk 22 (3 rings x 2 s): a held caller hanging up, a held
caller pressing 1, and a held caller an agent took later.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callcenter.ami.frame import FrameError
from callcenter.ami.transcript import read_messages
from callcenter.calls.record import (
    AFTER_HOURS,
    CALLBACK_REQUESTED,
    UNREACHED,
    CallRecord,
    Outcome,
    Party,
    classify_outcome,
    measure_wait,
)
from callcenter.calls.tracker import CallTracker
from callcenter.config import RingConfig
from tests.support.ami_events import arrival, ev, run
from tests.support.paths import AMI_FIXTURES

ROUTED_RING = RingConfig(cadence_seconds=2.0, budget_rings=3)


def _classify(
    *,
    agent: bool = False,
    system: bool = False,
    caller_first: bool = False,
    caller_unanswered: bool = False,
    notes: tuple[str, ...] = (),
) -> Outcome:
    return classify_outcome(
        agent_took_it=agent,
        system_answered=system,
        caller_hung_up_first=caller_first,
        caller_hung_up_unanswered=caller_unanswered,
        notes=notes,
    )


def test_an_agent_answer_wins_over_everything_else() -> None:
    assert _classify(agent=True, system=True, caller_first=True) is Outcome.ANSWERED
    assert _classify(agent=True, notes=(CALLBACK_REQUESTED,)) is Outcome.ANSWERED


def test_a_held_caller_who_hangs_up_abandoned_after_the_system_answer() -> None:
    assert _classify(system=True, caller_first=True) is Outcome.ABANDONED_AFTER_SYSTEM


def test_a_held_caller_served_by_the_system_is_not_an_abandon() -> None:
    for served in (CALLBACK_REQUESTED, AFTER_HOURS):
        outcome = _classify(system=True, caller_first=True, notes=(served,))
        assert outcome is Outcome.ANSWERED_BY_SYSTEM, served
    # The system hung up (or Asterisk went away) while holding the caller.
    assert _classify(system=True) is Outcome.ANSWERED_BY_SYSTEM
    assert _classify(system=True, notes=("asterisk-restart",)) is Outcome.ANSWERED_BY_SYSTEM


def test_unanswered_calls_abandoned_cut_off_or_failed() -> None:
    assert _classify(caller_unanswered=True) is Outcome.ABANDONED
    assert _classify(notes=("asterisk-shutdown",)) is Outcome.INTERRUPTED
    assert _classify(notes=("ended-while-disconnected",)) is Outcome.INTERRUPTED
    assert _classify() is Outcome.UNANSWERED
    assert _classify(caller_unanswered=True, notes=("asterisk-restart",)) is Outcome.ABANDONED


def test_only_an_agent_answer_reached_a_person() -> None:
    assert set(Outcome) - UNREACHED == {Outcome.ANSWERED}


def test_the_wait_ends_at_the_agent_or_at_the_end() -> None:
    # Held 5 s after a system answer at 15 s, then an agent: 20 s in all, 5 s held.
    assert measure_wait(
        arrived_at=100.0, system_answered_at=115.0, agent_answered_at=120.0, ended_at=180.0
    ) == (20.0, 5.0)
    # Held, never reached anyone: the wait runs to the end.
    assert measure_wait(
        arrived_at=100.0, system_answered_at=115.0, agent_answered_at=None, ended_at=142.5
    ) == (42.5, 27.5)
    # An agent answered while it rang: no system part.
    assert measure_wait(
        arrived_at=100.0, system_answered_at=None, agent_answered_at=104.0, ended_at=160.0
    ) == (4.0, None)
    # Nothing said when the events did not carry the times.
    assert measure_wait(
        arrived_at=None, system_answered_at=None, agent_answered_at=None, ended_at=160.0
    ) == (None, None)


def _replay(path: Path) -> CallRecord:
    errors: list[FrameError] = []
    tracker = CallTracker(ROUTED_RING)
    records: list[CallRecord] = []
    for message in read_messages(path, errors.append):
        if message.is_event:
            records.extend(tracker.feed(message))
    records.extend(tracker.drain())
    assert errors == []
    (record,) = records
    return record


def test_recorded_held_caller_hanging_up_is_an_abandon_with_its_wait() -> None:
    record = _replay(AMI_FIXTURES / "dashboard" / "held_abandon.ami")
    sidecar = json.loads((AMI_FIXTURES / "dashboard" / "held_abandon.json").read_text())
    assert record.outcome.value == sidecar["expected_outcome"] == "abandoned_after_system"
    assert (record.answered_by, record.hangup_first) == (Party.SYSTEM, Party.CALLER)
    assert record.arrived_at is not None and record.answered_at is not None
    assert record.ended_at is not None
    assert record.wait_seconds == pytest.approx(record.ended_at - record.arrived_at, abs=1e-3)
    assert record.system_wait_seconds == pytest.approx(
        record.ended_at - record.answered_at, abs=1e-3
    )
    # The recording held the caller about 3 s after a ~6 s ring budget.
    assert record.system_wait_seconds == pytest.approx(3.0, abs=0.6)
    assert CALLBACK_REQUESTED not in record.notes


def test_recorded_press_1_is_answered_by_the_system_and_says_so() -> None:
    record = _replay(AMI_FIXTURES / "dashboard" / "held_callback.ami")
    assert record.outcome is Outcome.ANSWERED_BY_SYSTEM
    assert CALLBACK_REQUESTED in record.notes
    assert record.wait_seconds is not None and record.system_wait_seconds is not None
    assert record.wait_seconds > record.system_wait_seconds > 0


def test_recorded_held_call_taken_by_an_agent_waits_until_the_agent() -> None:
    # Newchannel 1795447073.955460, SystemAnswer 1795447078.513835,
    # AgentConnected 1795447085.797639 (see tests/unit/dashboard/test_definitions.py).
    record = _replay(AMI_FIXTURES / "dashboard" / "held_then_agent.ami")
    assert record.outcome is Outcome.ANSWERED
    assert record.wait_seconds == pytest.approx(11.842, abs=1e-3)
    # Held from the caller's answer (its Newstate Up, ~6 ms before SystemAnswer).
    assert record.answered_at is not None
    assert record.system_wait_seconds == pytest.approx(
        1795447085.797639 - record.answered_at, abs=1e-3
    )
    assert record.system_wait_seconds == pytest.approx(7.29, abs=0.01)


def test_after_hours_and_press_1_user_events_are_noted() -> None:
    events = [
        *arrival(),
        ev("Newstate", 1.0, ChannelState="6"),
        ev("UserEvent", 1.01, UserEvent="AfterHours"),
        ev("HangupRequest", 30.0),
        ev("Hangup", 30.01, Cause="16"),
    ]
    (record,) = run(events)
    assert record.outcome is Outcome.ANSWERED_BY_SYSTEM
    assert AFTER_HOURS in record.notes
    assert record.hangup_first is Party.CALLER
