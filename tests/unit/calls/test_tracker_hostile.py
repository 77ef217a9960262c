"""The tracker under hostile input (issue 19): bad timestamps, calls that never end, floods.

A `Timestamp: inf` once raised OverflowError in the ring count, dropped the call's record
and left the tracker's clock at infinity; calls with no live leg were never expired, so a
mutated stream grew memory without bound. The fuzz test replays mutated recorded
transcripts (tests/support/ami_fuzz.py) through the parser and the tracker; the 1,000,000
frame run is bench/fuzz_ami.py.
"""

from __future__ import annotations

import dataclasses
import math
import tracemalloc

import pytest

from callcenter.ami.message import Message
from callcenter.calls.record import CallRecord, Outcome
from callcenter.calls.tracker import CallTracker, ChannelSnapshot
from callcenter.config import TrackerConfig
from tests.support.ami_events import AGENT, CALLER, T0, agent_answers, arrival, ev, hangups, run
from tests.support.ami_fuzz import fuzz

HOUR = 3600.0


def _finite(record: CallRecord) -> bool:
    values = [getattr(record, f.name) for f in dataclasses.fields(record)]
    return all(math.isfinite(v) for v in values if isinstance(v, float))


def _stamped(message: Message, raw: str) -> Message:
    return Message({**message.headers, "Timestamp": raw})


@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "1e400", "-1", "0", "abc", "1e12"])
def test_a_call_answered_at_a_bad_timestamp_is_still_recorded_with_finite_times(
    raw: str,
) -> None:
    tracker = CallTracker()
    events = [*arrival(), *agent_answers(6.0), *hangups(20.0, CALLER, "caller")]
    # The agent's answer is the stamp the ring count reads (it raised OverflowError on inf).
    events = [_stamped(e, raw) if e.name == "Newstate" else e for e in events]
    (record,) = run(events, tracker)
    assert record.outcome is Outcome.ANSWERED and _finite(record), record
    assert record.rings_to_answer is not None and record.answer_seconds is not None
    assert record.answered_at is not None and T0 <= record.answered_at <= T0 + 20.1
    assert tracker.frame_errors == 2  # the agent's and the caller's Newstate


def test_a_bad_timestamp_does_not_move_the_clock() -> None:
    tracker = CallTracker()
    tracker.feed(ev("Newchannel", 0.0))
    for raw in ("inf", "nan", "-5", "4102444801", str(T0 + 30 * 86_400)):
        tracker.feed(_stamped(ev("Newstate", None, ChannelState="5"), raw))
    assert tracker.frame_errors == 5
    # The call ends at its real time and is finished after the grace, not before.
    assert not tracker.feed(ev("Hangup", 10.0, Cause="16"))
    assert tracker.expire(T0 + 11.0) == []
    (record,) = tracker.expire(T0 + 12.5)
    assert record.ended_at == T0 + 10.0 and _finite(record)


def test_in_the_live_service_a_stamp_ahead_of_the_wall_clock_is_refused() -> None:
    tracker = CallTracker()
    tracker.expire(T0)  # the service's tick: the wall clock is known from here on
    tracker.feed(ev("Newchannel", 0.0))
    tracker.feed(ev("Newstate", 2 * HOUR, ChannelState="6"))
    assert tracker.frame_errors == 1


def test_a_bad_frame_before_the_first_tick_is_undone_by_the_wall_clock() -> None:
    tracker = CallTracker()
    tracker.feed(ev("Newchannel", 10 * 86_400.0))  # the first frame, ten days ahead
    tracker.expire(T0)  # the wall clock: the tracker's clock comes back to now
    tracker.feed(Message({**ev("Newchannel", 1.0).headers, "Linkedid": "1700000001.1"}))
    assert tracker.open_calls == 2 and tracker.frame_errors == 0
    assert tracker.expire(T0 + 2.0) == []  # nothing expired against a clock ten days on


def test_a_quiet_gap_in_a_replayed_stream_moves_the_clock_after_two_events() -> None:
    """Without a wall clock (a replay), one frame far ahead is suspect, two agree."""
    tracker = CallTracker()
    first = run([*arrival(), *agent_answers(6.0), *hangups(20.0, CALLER, "caller")], tracker)
    assert len(first) == 1
    later = "1700010000.1"
    call = [
        Message({**e.headers, "Linkedid": later, "Uniqueid": later})
        for e in (ev("Newchannel", 3 * HOUR), ev("Newstate", 3 * HOUR + 1, ChannelState="6"))
    ]
    for message in call:
        tracker.feed(message)
    (record,) = [
        *tracker.feed(
            Message({**ev("Hangup", 3 * HOUR + 9).headers, "Linkedid": later, "Uniqueid": later})
        ),
        *tracker.drain(),
    ]
    assert tracker.frame_errors == 1  # the Newchannel: its time was the clock's
    assert record.ended_at == T0 + 3 * HOUR + 9


def test_odd_durations_and_causes_are_ignored_not_raised() -> None:
    events = [
        *arrival(),
        ev("QueueCallerAbandon", 5.0, Queue="support", HoldTime="inf"),
        ev("Hangup", 5.1, Cause="²"),
    ]
    (record,) = run(events)
    assert record.outcome is Outcome.ABANDONED and record.hangup_cause is None
    assert _finite(record)
    (answered,) = run(
        [
            *arrival(),
            *agent_answers(6.0),
            *[
                Message({**e.headers, "TalkTime": "1e400"}) if e.name == "AgentComplete" else e
                for e in hangups(20.0, CALLER, "caller")
            ],
            ev("Hangup", 21.0, "1700000000.99", Cause="9" * 5000),
        ]
    )
    assert _finite(answered)


def test_a_call_with_no_live_leg_and_no_final_event_is_expired_as_a_record() -> None:
    tracker = CallTracker()
    # Started mid-call (no Newchannel): no leg is known to be live, and no Hangup comes.
    assert tracker.feed(ev("Newstate", 0.0, ChannelState="6")) == ()
    other = "1700000500.1"
    for at in (60.0, HOUR - 1):  # another call keeps the clock moving
        tracker.feed(Message({**ev("VarSet", at).headers, "Event": "Newexten"}))
        tracker.feed(Message({**ev("Newchannel", at, other).headers, "Linkedid": other}))
    assert tracker.is_open(CALLER)
    expired = tracker.expire(T0 + HOUR + 61)
    (record,) = [r for r in expired if r.linkedid == CALLER]
    assert "expired-no-live-leg" in record.notes and "started-mid-call" in record.notes
    assert record.ended_at == T0  # its last event: nothing is invented
    assert not tracker.is_open(CALLER) and tracker.knows(CALLER)
    assert tracker.expired_calls == 1 and tracker.open_calls == 1  # the other call lives on


def test_a_call_with_a_live_leg_but_no_event_for_long_is_expired_as_a_record() -> None:
    tracker = CallTracker()
    for event in [*arrival(), *agent_answers(6.0)]:
        tracker.feed(event)
    idle = TrackerConfig().idle_expiry
    assert tracker.expire(T0 + idle - 60) == []
    (record,) = tracker.expire(T0 + idle + 61)
    assert "expired-idle" in record.notes and record.outcome is Outcome.ANSWERED
    assert record.ended_at == T0 + 6.03 and record.agent == "1001"
    assert tracker.open_calls == 0


def test_more_open_calls_than_the_cap_finish_the_oldest() -> None:
    tracker = CallTracker(config=TrackerConfig(max_open_calls=10))
    finished: list[CallRecord] = []
    for n in range(11):
        linkedid = f"1700000000.{100 + n}"
        event = ev("Newchannel", float(n), linkedid)
        finished.extend(tracker.feed(Message({**event.headers, "Linkedid": linkedid})))
    assert tracker.open_calls == 10
    (oldest,) = finished
    assert oldest.linkedid == "1700000000.100" and "evicted-too-many-calls" in oldest.notes


def test_one_call_holds_a_bounded_number_of_legs_notes_and_recordings() -> None:
    tracker = CallTracker()
    tracker.feed(ev("Newchannel", 0.0))
    tracker.feed(ev("Newchannel", 0.5, AGENT))
    for n in range(200):
        tracker.feed(ev("UserEvent", 1.0, AGENT, UserEvent="CallRecording", Leg=f"l{n}", File="f"))
        tracker.feed(ev("UserEvent", 1.0, UserEvent="CallbackDial", Callback=str(n)))
    assert tracker.frame_errors == 0  # recordings and notes are capped quietly
    for n in range(200):
        tracker.feed(ev("Newchannel", 1.0, f"1700000000.{1000 + n}"))
    assert tracker.frame_errors == 200 - 62  # the caller, the agent and 62 more legs
    (record,) = tracker.abandon_all(T0 + 2, "test")
    assert len(record.recordings) == 64 and len(record.notes) == 32
    assert "too-many-legs" not in record.notes  # the notes were full by then: still bounded
    inbound = CallTracker()
    inbound.feed(ev("Newchannel", 0.0, Context="from-callers"))
    for n in range(200):
        inbound.feed(ev("DialBegin", 1.0, DestUniqueid=f"1700000001.{n}"))
    assert inbound.frame_errors == 200 - 64
    (dialled,) = inbound.abandon_all(T0 + 2, "test")
    assert "too-many-legs" in dialled.notes


def test_twenty_thousand_mutated_frames_raise_nothing_and_memory_stays_bounded() -> None:
    tracker = CallTracker()
    tracemalloc.start()
    try:
        warm = fuzz(2_000, seed=7, tracker=CallTracker())
        assert warm.exceptions == 0
        before = tracemalloc.get_traced_memory()[0]
        report = fuzz(20_000, seed=19, tracker=tracker, keep_records=True)
        records_size = sum(len(r.notes) for r in report.records)  # keep them referenced
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(
        f"fuzz: {report.frames} frames ({report.mutated} mutated), {report.messages} messages,"
        f" {report.exceptions} exceptions, {report.record_count} records,"
        f" {tracker.frame_errors} tracker frame errors, {report.parser_errors} parser errors,"
        f" at most {report.max_open_calls} open calls, {tracker.open_calls} at the end;"
        f" traced memory {before / 1e6:.2f} -> {after / 1e6:.2f} MB (peak {peak / 1e6:.2f})"
    )
    assert report.exceptions == 0, "\n".join(report.tracebacks)
    assert report.frames >= 20_000 and report.mutated >= 9_000
    assert report.parser_errors > 0 and tracker.frame_errors > 0  # the mutations did bite
    assert tracker.open_calls == 0  # a day later, every call is finished...
    assert report.record_count > 100 and records_size >= 0
    assert all(_finite(r) for r in report.records)  # ...as a record with real times
    assert report.max_open_calls < 500
    # The records kept by the test included, the run holds a few MB at most.
    assert after - before < 8_000_000


def test_a_quiet_call_asterisk_still_reports_is_not_expired_as_idle() -> None:
    tracker = CallTracker()
    for event in [*arrival(), *agent_answers(6.0)]:
        tracker.feed(event)
    idle = TrackerConfig().idle_expiry
    channels = [
        ChannelSnapshot(uid, CALLER, "PJSIP/x", "6", None, None, None, None, None)
        for uid in (CALLER, AGENT)
    ]
    assert tracker.reconcile(channels, T0 + idle - 60) == []
    assert tracker.expire(T0 + idle + 61) == []  # reported live 2 minutes ago
    assert tracker.is_open(CALLER)
    (record,) = tracker.expire(T0 + 2 * idle)  # and then never again
    assert "expired-idle" in record.notes


def test_an_over_long_caller_id_is_clipped_and_noted_not_a_write_that_fails() -> None:
    """A trunk's caller ID can be any text; the call log's column holds 64 characters,
    and one value PostgreSQL refuses would stall every write behind it."""
    long_id = "Sales Department of a Very Long Company Name " * 3
    first, *rest = arrival()
    events = [
        Message({**first.headers, "CallerIDNum": long_id}),
        *rest,
        *agent_answers(6.0),
        *hangups(20.0, CALLER, "caller"),
    ]
    (record,) = run(events, CallTracker())
    assert record.caller_number == long_id[:64]
    assert "number-clipped" in record.notes
    (short,) = run([*arrival(), *agent_answers(6.0), *hangups(20.0, CALLER, "caller")])
    assert short.caller_number == "13800138000" and "number-clipped" not in short.notes
