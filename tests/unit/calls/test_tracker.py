"""The tracker's decisions on hand-built event sequences shaped like Asterisk 22's.

Real transcripts recorded from the project's Asterisk replay in
tests/unit/calls/test_replay.py; these cover orders and failures on purpose.
"""

from __future__ import annotations

from callcenter.ami.message import Message
from callcenter.calls.record import Direction, Outcome, Party
from callcenter.calls.ring import count_rings
from callcenter.calls.tracker import CallTracker, ChannelSnapshot
from callcenter.config import RingConfig, TrackerConfig
from tests.support.ami_events import AGENT, CALLER, T0, agent_answers, arrival, ev, hangups, run


def test_answered_call_caller_hangs_up_first() -> None:
    (record,) = run([*arrival(), *agent_answers(4.0), *hangups(24.0, CALLER, "caller")])
    assert record.outcome is Outcome.ANSWERED
    assert record.direction is Direction.INBOUND
    assert record.answered_by is Party.AGENT
    assert record.agent == "1001"
    assert record.queue == "support"
    assert record.caller_number == "13800138000"
    assert record.caller_name == "張三"
    assert record.dialled_number == "600"
    assert record.arrived_at == T0
    assert record.answer_seconds == 4.0  # the agent's pick-up ends the ringing
    assert record.rings_to_answer == 1
    assert record.talk_seconds == 20.0  # answer 4.01 -> first talker hangup 24.01
    assert record.hangup_first is Party.CALLER
    assert [r.leg for r in record.recordings] == ["caller", "agent"]
    assert all(r.linkedid == CALLER for r in record.recordings)


def test_agent_hangs_up_first_is_recorded_from_agent_complete_reason() -> None:
    (record,) = run([*arrival(), *agent_answers(3.0), *hangups(10.0, AGENT, "agent")])
    assert record.hangup_first is Party.AGENT


def test_agent_complete_after_the_last_hangup_still_counts() -> None:
    tail = hangups(10.0, CALLER, "agent")  # Reason disagrees with event order on purpose
    events = [*arrival(), *agent_answers(3.0), tail[0], tail[1], tail[2], tail[3]]
    (record,) = run(events)
    assert record.hangup_first is Party.AGENT


def test_agent_complete_beyond_grace_is_a_late_event_not_a_new_call() -> None:
    tracker = CallTracker()
    tail = hangups(10.0, CALLER, "agent")
    records = run([*arrival(), *agent_answers(3.0), *tail[:3]], tracker)
    late = ev("AgentComplete", 30.0, Reason="agent")
    assert list(tracker.feed(late)) == []
    assert tracker.open_calls == 0
    assert tracker.late_events == 1
    assert records[0].hangup_first is Party.CALLER  # the HangupRequest fallback


def test_grace_period_holds_the_record_until_event_time_passes() -> None:
    tracker = CallTracker(config=TrackerConfig(finalize_grace=2.0))
    for event in [*arrival(), *agent_answers(3.0), *hangups(10.0, CALLER, "caller")[:3]]:
        assert list(tracker.feed(event)) == []
    assert tracker.expire(T0 + 11.0) == []
    (record,) = tracker.expire(T0 + 12.1)
    assert record.outcome is Outcome.ANSWERED


def test_abandoned_while_ringing() -> None:
    events = [
        *arrival(),
        ev("AgentCalled", 1.0, DestUniqueid=AGENT, Queue="support", Interface="PJSIP/1001"),
        ev("HangupRequest", 7.0),
        ev("QueueCallerAbandon", 7.01, Queue="support", HoldTime="7", Position="1"),
        ev("Hangup", 7.02, AGENT, Cause="26"),
        ev("Hangup", 7.03, Cause="16"),
    ]
    (record,) = run(events)
    assert record.outcome is Outcome.ABANDONED
    assert record.answered_at is None
    assert record.answer_seconds is None
    assert record.rings_to_answer is None
    assert record.hangup_first is Party.CALLER
    assert record.agent is None


def test_system_answers_when_the_budget_is_spent() -> None:
    events = [
        *arrival(),
        ev("QueueCallerLeave", 15.0, Queue="support"),
        ev("Newstate", 15.01, ChannelState="6"),
        ev("UserEvent", 15.02, UserEvent="SystemAnswer"),
        ev("HangupRequest", 20.0),
        ev("Hangup", 20.01, Cause="16"),
    ]
    (record,) = run(events)
    # Held by the system, the caller hung up before an agent was free: an abandon.
    assert record.outcome is Outcome.ABANDONED_AFTER_SYSTEM
    assert record.answered_by is Party.SYSTEM
    assert record.answer_seconds == 15.01
    assert record.rings_to_answer == 4  # 15.01 s: the fourth ring had begun
    assert record.hangup_first is Party.CALLER
    assert (record.wait_seconds, record.system_wait_seconds) == (20.01, 5.0)


def test_duplicate_hangup_and_unknown_events_change_nothing() -> None:
    base = [*arrival(), *agent_answers(3.0), *hangups(10.0, CALLER, "caller")]
    noisy = list(base)
    noisy.insert(3, ev("SomethingNew", 1.0, Foo="bar"))
    noisy.insert(5, Message({"Event": "VarSet", "Variable": "X", "Value": "1"}))
    noisy.append(ev("Hangup", 10.05, Cause="16"))
    assert run(noisy) == run(base)


def test_events_before_newchannel_still_make_one_call() -> None:
    events = [*arrival(), *agent_answers(3.0), *hangups(10.0, CALLER, "caller")]
    shuffled = [events[2], events[0], events[1], *events[3:]]
    records = run(shuffled)
    assert len(records) == 1
    assert records[0].outcome is Outcome.ANSWERED
    assert records[0].arrived_at == T0


def test_without_timestamps_asterisk_whole_seconds_are_used_not_invented() -> None:
    def strip(message: Message) -> Message:
        return Message({k: v for k, v in message.headers.items() if k != "Timestamp"})

    events = [strip(e) for e in [*arrival(), *agent_answers(6.0), *hangups(30.0, CALLER, "caller")]]
    (record,) = run(events)
    assert record.arrived_at is None
    assert record.answered_at is None
    assert record.answer_seconds == 6.0  # AgentConnect HoldTime
    assert record.rings_to_answer == 2
    assert record.talk_seconds == 20.0  # AgentComplete TalkTime


def test_asterisk_restart_closes_open_calls_once() -> None:
    tracker = CallTracker()
    for event in [*arrival(), *agent_answers(3.0)]:
        tracker.feed(event)
    (record,) = tracker.abandon_all(T0 + 50, "asterisk-restart")
    assert record.outcome is Outcome.ANSWERED
    assert "asterisk-restart" in record.notes
    assert record.ended_at == T0 + 50
    assert tracker.open_calls == 0
    assert tracker.abandon_all(T0 + 60, "asterisk-restart") == []
    # A straggling event of that call does not resurrect it.
    assert list(tracker.feed(ev("Hangup", 51.0, Cause="16"))) == []
    assert tracker.open_calls == 0


def test_reconcile_ends_vanished_legs_and_adopts_unknown_channels() -> None:
    tracker = CallTracker()
    for event in arrival():
        tracker.feed(event)
    other = ChannelSnapshot(
        uniqueid="1700000100.1",
        linkedid="1700000100.1",
        channel="PJSIP/2002-0003",
        state="4",
        caller_number="13900000000",
        caller_name=None,
        exten="600",
        context="from-callers",
        duration_seconds=12.0,
    )
    (ended,) = tracker.reconcile([other], now=T0 + 40)
    assert ended.linkedid == CALLER
    assert ended.outcome is Outcome.INTERRUPTED
    assert "ended-while-disconnected" in ended.notes
    assert tracker.open_linkedids() == ["1700000100.1"]
    hang = Message(
        {
            "Event": "Hangup",
            "Uniqueid": "1700000100.1",
            "Linkedid": "1700000100.1",
            "Cause": "16",
            "Timestamp": f"{T0 + 45:.6f}",
        }
    )
    tracker.feed(
        Message(
            {
                "Event": "HangupRequest",
                "Uniqueid": "1700000100.1",
                "Linkedid": "1700000100.1",
                "Timestamp": f"{T0 + 45:.6f}",
            }
        )
    )
    tracker.feed(hang)
    (adopted,) = tracker.drain()
    assert adopted.arrived_at == T0 + 28
    assert adopted.caller_number == "13900000000"
    assert adopted.outcome is Outcome.ABANDONED
    assert "adopted" in adopted.notes


def test_recordings_follow_the_linkedid_through_a_transfer() -> None:
    second_agent = "1700000000.20"
    events = [
        *arrival(),
        *agent_answers(3.0),
        ev("Newchannel", 20.0, second_agent, Channel="PJSIP/1002-00000005", Context="agents"),
        ev(
            "UserEvent",
            21.0,
            second_agent,
            UserEvent="CallRecording",
            Leg="agent",
            File=f"x/{CALLER}/{second_agent}-agent.wav",
        ),
        ev("AgentComplete", 22.0, Reason="transfer", TalkTime="19"),
        ev("Hangup", 22.1, AGENT, Cause="16"),
        ev("Hangup", 40.0, second_agent, Cause="16"),
        ev("Hangup", 40.1, Cause="16"),
    ]
    (record,) = run(events)
    assert [r.uniqueid for r in record.recordings] == [CALLER, AGENT, second_agent]
    assert "transferred" in record.notes


def test_internal_calls_are_not_inbound() -> None:
    events = [
        Message(
            {
                "Event": "Newchannel",
                "Uniqueid": "9.1",
                "Linkedid": "9.1",
                "Context": "agents",
                "Exten": "echo",
                "Timestamp": "10.0",
            }
        ),
        Message({"Event": "Hangup", "Uniqueid": "9.1", "Linkedid": "9.1", "Timestamp": "12.0"}),
    ]
    (record,) = run(events)
    assert record.direction is Direction.INTERNAL


def test_count_rings_uses_the_configured_cadence() -> None:
    assert count_rings(0.0, 5.0) == 1
    assert count_rings(5.0, 5.0) == 1
    assert count_rings(5.001, 5.0) == 2
    assert count_rings(15.0, 5.0) == 3
    assert count_rings(15.000001, 5.0) == 3  # float noise from microsecond timestamps
    assert count_rings(15.01, 5.0) == 4
    assert count_rings(13.0, 6.0) == 3  # North American cadence
    tracker = CallTracker(ring=RingConfig(cadence_seconds=6.0))
    (record,) = run([*arrival(), *agent_answers(13.0), *hangups(20.0, CALLER, "caller")], tracker)
    assert record.rings_to_answer == 3


def test_calls_cut_by_an_asterisk_shutdown_are_interrupted_not_unanswered() -> None:
    (record,) = run(
        [
            *arrival(),
            ev("Shutdown", 3.0, Shutdown="Cleanly", Restart="True"),
            ev("Hangup", 3.1, Cause="1"),
        ]
    )
    assert record.outcome is Outcome.INTERRUPTED
    assert "asterisk-shutdown" in record.notes


def test_a_caller_hanging_up_during_a_router_dial_is_an_abandon() -> None:
    """Seen on Asterisk 22: HangupRequest (caller), then Dial's SoftHangupRequest, cause 127."""
    (record,) = run(
        [
            *arrival(),
            ev("HangupRequest", 3.0, Cause="127"),
            ev("SoftHangupRequest", 3.01, Cause="16"),
            ev("Hangup", 3.02, Cause="127"),
        ]
    )
    assert record.outcome is Outcome.ABANDONED
    assert record.hangup_first is Party.CALLER
