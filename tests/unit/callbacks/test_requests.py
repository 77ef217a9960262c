"""Callback requests: settings, merge, the order to dial, retries, complaint progress calls."""

from __future__ import annotations

from dataclasses import replace

import pytest

from callcenter.callbacks.numbers import CallbackError, DoNotCallList
from callcenter.callbacks.outcomes import Outcome
from callcenter.callbacks.quiet_hours import DEFAULT_QUIET_HOURS
from callcenter.callbacks.requests import (
    MERGED,
    PAST_DEADLINE,
    Callback,
    Purpose,
    SchedulerSettings,
    Status,
    after_attempt,
    next_due,
    progress_call_due,
    request,
)
from tests.support.wall_clock import HOUR, LONDON, MINUTE, MON, SH, TUE, at

SETTINGS = SchedulerSettings()
NUMBER = "13800138000"


def new(
    purpose: Purpose | str = Purpose.PRESS_1,
    now: float | None = None,
    number: str = NUMBER,
    settings: SchedulerSettings = SETTINGS,
    *,
    timezone: str | None = None,
    case_id: int | None = None,
    linkedid: str | None = None,
    due_at: float | None = None,
    deadline: float | None = None,
) -> Callback:
    cb, merged = request(
        [],
        number,
        purpose,
        at(MON, "10:00") if now is None else now,
        settings,
        timezone=timezone,
        case_id=case_id,
        linkedid=linkedid,
        due_at=due_at,
        deadline=deadline,
    )
    assert not merged
    return cb


def error_of(call: object) -> CallbackError:
    assert callable(call)
    with pytest.raises(CallbackError) as caught:
        call()
    return caught.value


# -- settings -----------------------------------------------------------------------------


def test_the_default_settings() -> None:
    s = SchedulerSettings()
    assert s.quiet_hours == DEFAULT_QUIET_HOURS
    assert (s.timezone, s.max_attempts, s.retry_spacing) == (SH, 3, 1800.0)
    assert (s.complaint_reply_hours, s.progress_call_before_hours, s.follow_up_days) == (48, 6, 3)
    assert {p: s.priority_of(p) for p in Purpose} == {
        Purpose.COMPLAINT_REPLY: 0,
        Purpose.COMPLAINT_PROGRESS: 0,
        Purpose.PRESS_1: 1,
        Purpose.ABANDONED: 1,
        Purpose.AFTER_HOURS: 1,
        Purpose.FOLLOW_UP: 2,
    }


def test_a_priority_left_out_of_the_settings_keeps_its_default() -> None:
    s = SchedulerSettings(priorities={Purpose.FOLLOW_UP: 0})
    assert s.priority_of(Purpose.FOLLOW_UP) == 0
    assert s.priority_of(Purpose.PRESS_1) == 1


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"retry_spacing": -1.0}, "retry_spacing"),
        ({"complaint_reply_hours": 0.0}, "complaint_reply_hours"),
        ({"progress_call_before_hours": 48.0}, "progress_call_before_hours"),
        ({"follow_up_days": 0.0}, "follow_up_days"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float], says: str) -> None:
    err = error_of(lambda: SchedulerSettings(**kwargs))  # type: ignore[arg-type]
    assert err.error_id == "scheduler-settings-invalid"
    assert says in str(err)


def test_an_unknown_center_time_zone_is_refused() -> None:
    assert error_of(lambda: SchedulerSettings(timezone="Nowhere")).error_id == "timezone-unknown"


# -- request --------------------------------------------------------------------------------


def test_a_press_1_request_is_a_pending_callback_due_now() -> None:
    now = at(MON, "10:00")
    cb, merged = request([], "138 0013 8000", "press-1", now, SETTINGS, linkedid="1705.1")
    assert not merged
    assert cb == Callback(
        number=NUMBER,
        purpose=Purpose.PRESS_1,
        priority=1,
        due_at=now,
        requested_at=now,
        linkedid="1705.1",
    )
    assert (cb.id, cb.status, cb.attempts, cb.max_attempts, cb.retry_spacing) == (
        None,
        Status.PENDING,
        0,
        3,
        1800.0,
    )
    assert cb.deadline is None and cb.is_open


def test_the_settings_attempts_and_spacing_are_copied_onto_the_callback() -> None:
    cb = new(settings=SchedulerSettings(max_attempts=5, retry_spacing=600))
    assert (cb.max_attempts, cb.retry_spacing) == (5, 600)


def test_a_complaint_reply_is_due_within_48_hours_of_opening() -> None:
    opened = at(MON, "10:00")
    cb = new(Purpose.COMPLAINT_REPLY, now=opened, case_id=7)
    assert (cb.priority, cb.due_at, cb.deadline, cb.case_id) == (0, opened, opened + 48 * HOUR, 7)


def test_a_complaint_reply_requested_later_counts_from_the_opening_passed_as_due_at() -> None:
    opened = at(MON, "10:00")
    cb = new(Purpose.COMPLAINT_REPLY, now=opened + 5 * HOUR, due_at=opened)
    assert cb.deadline == opened + 48 * HOUR
    assert cb.due_at == opened
    assert cb.requested_at == opened + 5 * HOUR


def test_a_follow_up_is_due_within_3_days_and_comes_after_callers() -> None:
    resolved = at(MON, "16:00")
    cb = new(Purpose.FOLLOW_UP, now=resolved, due_at=resolved + 24 * HOUR)
    assert cb.deadline == resolved + 3 * 24 * HOUR
    assert cb.priority == 2
    assert cb.due_at == at(TUE, "16:00")


def test_a_given_deadline_wins_and_other_purposes_have_none() -> None:
    now = at(MON, "10:00")
    assert new(Purpose.COMPLAINT_REPLY, now=now, deadline=now + HOUR).deadline == now + HOUR
    assert new(Purpose.ABANDONED, now=now, deadline=now + HOUR).deadline == now + HOUR
    for purpose in (Purpose.ABANDONED, Purpose.AFTER_HOURS, Purpose.COMPLAINT_PROGRESS):
        assert new(purpose, now=now).deadline is None


def test_a_request_made_in_quiet_hours_is_due_when_they_end() -> None:
    cb = new(Purpose.AFTER_HOURS, now=at(MON, "22:30"))
    assert cb.due_at == at(TUE, "09:00")
    assert cb.requested_at == at(MON, "22:30")
    assert new(Purpose.ABANDONED, now=at(MON, "12:10")).due_at == at(MON, "14:00")


def test_a_requested_due_time_in_quiet_hours_is_moved_too() -> None:
    cb = new(Purpose.FOLLOW_UP, now=at(MON, "10:00"), due_at=at(MON, "21:30"))
    assert cb.due_at == at(TUE, "09:00")


def test_the_customers_time_zone_decides_the_quiet_hours() -> None:
    now = at(MON, "23:00")  # 15:00 in London
    assert new(now=now, timezone=LONDON).due_at == now
    assert new(now=now).due_at == at(TUE, "09:00")
    assert new(now=now, timezone=LONDON).timezone == LONDON
    late = at(TUE, "06:00")  # 22:00 in London
    assert new(now=late, timezone=LONDON).due_at == at(TUE, "09:00", LONDON)


def test_a_complaint_reply_opened_late_is_still_due_well_before_its_deadline() -> None:
    opened = at(MON, "20:30")
    cb = new(Purpose.COMPLAINT_REPLY, now=opened)
    assert cb.due_at == opened
    assert cb.notes == ()
    later = new(Purpose.COMPLAINT_REPLY, now=at(MON, "21:30"))
    assert later.due_at == at(TUE, "09:00")
    assert later.deadline == at(MON, "21:30") + 48 * HOUR


def test_a_due_time_after_the_deadline_is_noted() -> None:
    cb = new(Purpose.ABANDONED, now=at(MON, "21:30"), deadline=at(MON, "23:00"))
    assert cb.due_at == at(TUE, "09:00")
    assert cb.notes == (PAST_DEADLINE,)


@pytest.mark.parametrize(
    ("call", "error_id"),
    [
        (lambda: request([], "13800I38000", Purpose.PRESS_1, 0.0, SETTINGS), "invalid-number"),
        (lambda: request([], "", Purpose.PRESS_1, 0.0, SETTINGS), "invalid-number"),
        (lambda: request([], NUMBER, "call-me-maybe", 0.0, SETTINGS), "unknown-purpose"),
        (
            lambda: request([], NUMBER, Purpose.PRESS_1, 0.0, SETTINGS, timezone="Asia/Nowhere"),
            "timezone-unknown",
        ),
    ],
)
def test_bad_requests_are_refused_with_a_stable_error_id(call: object, error_id: str) -> None:
    assert error_of(call).error_id == error_id


def test_a_number_on_the_do_not_call_list_is_refused_in_any_formatting() -> None:
    settings = SchedulerSettings(do_not_call=DoNotCallList(["138-0013-8000"]))
    err = error_of(lambda: request([], "(138) 0013 8000", "press-1", 0.0, settings))
    assert err.error_id == "do-not-call"
    assert "'(138) 0013 8000'" in str(err)
    assert new(number="13900000000", settings=settings).number == "13900000000"


def test_an_invalid_number_names_the_input() -> None:
    err = error_of(lambda: request([], "138-abc", Purpose.PRESS_1, 0.0, SETTINGS))
    assert "'138-abc'" in str(err)


# -- merge ----------------------------------------------------------------------------------


def stored(cb: Callback, id_: int) -> Callback:
    return replace(cb, id=id_)


def test_a_second_request_for_the_same_number_and_purpose_merges_keeping_the_turn() -> None:
    first = stored(new(Purpose.ABANDONED, now=at(MON, "10:00"), linkedid="a"), 41)
    cb, merged = request(
        [first],
        "138 0013-8000",
        Purpose.ABANDONED,
        at(MON, "10:20"),
        SETTINGS,
        linkedid="b",
    )
    assert merged
    assert cb.id == 41
    assert cb.number == NUMBER
    assert cb.requested_at == at(MON, "10:00")
    assert cb.due_at == at(MON, "10:00")
    assert cb.linkedid == "a"
    assert len(cb.notes) == 1
    assert cb.notes[0].startswith(MERGED)
    assert "linkedid=b" in cb.notes[0]
    assert cb == replace(first, notes=cb.notes)


def test_a_merge_keeps_the_earlier_due_time_and_the_earlier_deadline() -> None:
    opened = at(MON, "10:00")
    first = stored(new(Purpose.COMPLAINT_REPLY, now=opened, due_at=at(MON, "16:00"), case_id=3), 5)
    assert first.deadline == at(MON, "16:00") + 48 * HOUR
    cb, merged = request(
        [first],
        NUMBER,
        Purpose.COMPLAINT_REPLY,
        at(MON, "11:00"),
        SETTINGS,
        case_id=3,
        deadline=at(TUE, "12:00"),
    )
    assert merged
    assert cb.due_at == at(MON, "11:00")
    assert cb.deadline == at(TUE, "12:00")
    assert cb.requested_at == opened
    assert "case=3" in cb.notes[0]
    # A later deadline does not loosen the promise already made.
    again, _ = request([cb], NUMBER, Purpose.COMPLAINT_REPLY, at(TUE, "10:00"), SETTINGS, case_id=3)
    assert again.deadline == at(TUE, "12:00")
    assert again.due_at == at(MON, "11:00")
    assert len(again.notes) == 2


def test_a_merge_fills_in_what_the_first_request_did_not_know() -> None:
    first = stored(new(Purpose.AFTER_HOURS, now=at(MON, "10:00")), 1)
    cb, merged = request(
        [first],
        NUMBER,
        Purpose.AFTER_HOURS,
        at(MON, "10:05"),
        SETTINGS,
        timezone=LONDON,
        linkedid="x",
        case_id=9,
    )
    assert merged
    assert (cb.timezone, cb.linkedid, cb.case_id) == (LONDON, "x", 9)


def test_a_merge_into_a_retry_brings_it_forward_but_keeps_its_attempts() -> None:
    first = stored(new(Purpose.ABANDONED, now=at(MON, "10:00")), 2)
    retried = after_attempt(first, Outcome.NO_ANSWER, at(MON, "10:00"), SETTINGS)
    assert retried.due_at == at(MON, "10:30")
    cb, merged = request([retried], NUMBER, Purpose.ABANDONED, at(MON, "10:10"), SETTINGS)
    assert merged
    assert (cb.due_at, cb.attempts, cb.last_outcome) == (at(MON, "10:10"), 1, Outcome.NO_ANSWER)


def test_a_merge_into_a_callback_being_dialled_stays_dialling() -> None:
    dialling = replace(stored(new(), 3), status=Status.DIALLING)
    cb, merged = request([dialling], NUMBER, Purpose.PRESS_1, at(MON, "10:01"), SETTINGS)
    assert merged
    assert cb.status is Status.DIALLING


@pytest.mark.parametrize("status", [Status.DONE, Status.FAILED, Status.CANCELLED])
def test_a_closed_callback_is_not_merged_into(status: Status) -> None:
    closed = replace(stored(new(), 4), status=status)
    cb, merged = request([closed], NUMBER, Purpose.PRESS_1, at(MON, "11:00"), SETTINGS)
    assert not merged
    assert cb.id is None
    assert cb.requested_at == at(MON, "11:00")


def test_another_purpose_or_number_is_a_separate_callback() -> None:
    first = stored(new(Purpose.PRESS_1), 1)
    _, merged = request([first], NUMBER, Purpose.FOLLOW_UP, at(MON, "10:05"), SETTINGS)
    assert not merged
    _, merged = request([first], "13800138001", Purpose.PRESS_1, at(MON, "10:05"), SETTINGS)
    assert not merged
    _, merged = request([first], "+8613800138000", Purpose.PRESS_1, at(MON, "10:05"), SETTINGS)
    assert not merged  # no country-code guessing


def test_with_two_open_duplicates_the_older_keeps_the_turn() -> None:
    older = stored(new(now=at(MON, "09:30")), 8)
    newer = stored(new(now=at(MON, "09:45")), 2)
    cb, merged = request([newer, older], NUMBER, "press-1", at(MON, "10:00"), SETTINGS)
    assert merged
    assert cb.id == 8


def test_a_stored_number_that_is_not_a_number_never_matches() -> None:
    junk = replace(stored(new(), 1), number="unknown")
    cb, merged = request([junk], NUMBER, Purpose.PRESS_1, at(MON, "10:05"), SETTINGS)
    assert not merged
    assert cb.id is None


# -- next_due -------------------------------------------------------------------------------


def test_complaint_deadlines_go_first_even_when_requested_later() -> None:
    now = at(TUE, "10:00")
    caller = stored(new(Purpose.PRESS_1, now=at(MON, "10:00")), 1)
    late_deadline = stored(new(Purpose.COMPLAINT_REPLY, now=at(MON, "16:00")), 2)
    early_deadline = stored(
        new(Purpose.COMPLAINT_PROGRESS, now=at(TUE, "09:00"), deadline=at(TUE, "15:00")), 3
    )
    follow_up = stored(new(Purpose.FOLLOW_UP, now=at(MON, "09:10")), 4)
    no_deadline = stored(new(Purpose.COMPLAINT_PROGRESS, now=at(TUE, "09:30")), 5)
    order = next_due([follow_up, caller, no_deadline, late_deadline, early_deadline], now, SETTINGS)
    assert [cb.id for cb in order] == [3, 2, 5, 1, 4]


def test_among_equals_the_earlier_request_keeps_its_turn_then_the_id() -> None:
    now = at(MON, "11:00")
    a = stored(new(Purpose.ABANDONED, now=at(MON, "10:05")), 1)
    b = stored(new(Purpose.PRESS_1, now=at(MON, "10:01")), 9)
    c = stored(new(Purpose.AFTER_HOURS, now=at(MON, "10:01")), 4)
    unsaved = new(Purpose.AFTER_HOURS, now=at(MON, "10:01"))
    assert next_due([a, unsaved, b, c], now, SETTINGS) == [c, b, unsaved, a]


def test_equal_complaint_deadlines_fall_back_to_the_turn() -> None:
    now = at(TUE, "10:00")
    deadline = at(TUE, "18:00")
    later = stored(new(Purpose.COMPLAINT_REPLY, now=at(MON, "11:00"), deadline=deadline), 1)
    earlier = stored(new(Purpose.COMPLAINT_REPLY, now=at(MON, "10:00"), deadline=deadline), 2)
    assert next_due([later, earlier], now, SETTINGS) == [earlier, later]


def test_only_pending_callbacks_that_are_due_are_offered() -> None:
    now = at(MON, "11:00")
    due = stored(new(now=at(MON, "10:00")), 1)
    exactly_due = stored(new(now=at(MON, "10:00"), due_at=now), 2)
    not_yet = stored(new(now=at(MON, "10:00"), due_at=now + 1), 3)
    dialling = replace(stored(new(now=at(MON, "10:00")), 4), status=Status.DIALLING)
    done = replace(stored(new(now=at(MON, "10:00")), 5), status=Status.DONE)
    failed = replace(stored(new(now=at(MON, "10:00")), 6), status=Status.FAILED)
    cancelled = replace(stored(new(now=at(MON, "10:00")), 7), status=Status.CANCELLED)
    out = next_due([due, exactly_due, not_yet, dialling, done, failed, cancelled], now, SETTINGS)
    assert [cb.id for cb in out] == [1, 2]


def test_a_due_callback_waits_while_its_customer_is_in_quiet_hours() -> None:
    shanghai = stored(new(now=at(MON, "10:00")), 1)
    london = stored(new(now=at(MON, "10:00"), number="+442079460000", timezone=LONDON), 2)
    night_in_shanghai = at(MON, "23:00")  # 15:00 in London
    assert next_due([shanghai, london], night_in_shanghai, SETTINGS) == [london]
    lunch_in_shanghai = at(TUE, "12:30")  # 04:30 in London
    assert next_due([shanghai, london], lunch_in_shanghai, SETTINGS) == []
    assert next_due([shanghai, london], at(TUE, "17:00"), SETTINGS) == [shanghai, london]


def test_nothing_is_due_in_an_empty_queue() -> None:
    assert next_due([], at(MON, "10:00"), SETTINGS) == []


# -- after_attempt --------------------------------------------------------------------------


def test_an_answered_call_is_done() -> None:
    cb = stored(new(), 1)
    done = after_attempt(cb, Outcome.ANSWERED, at(MON, "10:01"), SETTINGS)
    assert (done.status, done.attempts, done.last_outcome) == (Status.DONE, 1, Outcome.ANSWERED)
    assert done.due_at == cb.due_at
    assert not done.is_open


def test_three_tries_thirty_minutes_apart_then_failed() -> None:
    cb = stored(new(now=at(MON, "10:00")), 1)
    first = after_attempt(cb, Outcome.NO_ANSWER, at(MON, "10:00"), SETTINGS)
    assert (first.status, first.attempts, first.due_at) == (Status.PENDING, 1, at(MON, "10:30"))
    assert first.last_outcome is Outcome.NO_ANSWER
    assert next_due([first], at(MON, "10:29"), SETTINGS) == []
    assert next_due([first], at(MON, "10:30"), SETTINGS) == [first]
    second = after_attempt(first, Outcome.BUSY, at(MON, "10:30"), SETTINGS)
    assert (second.status, second.attempts, second.due_at) == (Status.PENDING, 2, at(MON, "11:00"))
    third = after_attempt(second, Outcome.FAILED, at(MON, "11:00"), SETTINGS)
    assert (third.status, third.attempts, third.last_outcome) == (
        Status.FAILED,
        3,
        Outcome.FAILED,
    )
    assert next_due([third], at(MON, "12:00"), SETTINGS) == []


def test_the_spacing_counts_from_when_the_try_ended() -> None:
    cb = stored(new(now=at(MON, "10:00")), 1)
    late = after_attempt(cb, Outcome.NO_ANSWER, at(MON, "10:07"), SETTINGS)
    assert late.due_at == at(MON, "10:37")


def test_a_retry_landing_in_quiet_hours_moves_to_the_end_of_the_window() -> None:
    cb = stored(new(now=at(MON, "20:00")), 1)
    evening = after_attempt(cb, Outcome.NO_ANSWER, at(MON, "20:45"), SETTINGS)
    assert evening.due_at == at(TUE, "09:00")
    lunch = after_attempt(cb, Outcome.BUSY, at(MON, "11:40"), SETTINGS)
    assert lunch.due_at == at(MON, "14:00")
    just_before = after_attempt(cb, Outcome.BUSY, at(MON, "20:29"), SETTINGS)
    assert just_before.due_at == at(MON, "20:59")


def test_a_retry_uses_the_customers_time_zone() -> None:
    cb = stored(new(now=at(MON, "10:00"), timezone=LONDON), 1)
    retry = after_attempt(cb, Outcome.NO_ANSWER, at(MON, "20:45", LONDON), SETTINGS)
    assert retry.due_at == at(TUE, "09:00", LONDON)


def test_the_callbacks_own_attempts_and_spacing_count_not_the_current_settings() -> None:
    cb = stored(new(now=at(MON, "10:00"), settings=SchedulerSettings(max_attempts=1)), 1)
    assert after_attempt(cb, Outcome.BUSY, at(MON, "10:00"), SETTINGS).status is Status.FAILED
    spaced = stored(new(now=at(MON, "10:00"), settings=SchedulerSettings(retry_spacing=600)), 2)
    assert after_attempt(spaced, Outcome.BUSY, at(MON, "10:00"), SETTINGS).due_at == at(
        MON, "10:10"
    )


def test_a_retry_past_the_deadline_is_still_made_and_noted_once() -> None:
    cb = stored(new(Purpose.COMPLAINT_REPLY, now=at(MON, "10:00"), deadline=at(MON, "20:40")), 1)
    cb = replace(cb, max_attempts=5)
    first = after_attempt(cb, Outcome.NO_ANSWER, at(MON, "20:00"), SETTINGS)
    assert first.due_at == at(MON, "20:30")
    assert PAST_DEADLINE not in first.notes
    second = after_attempt(first, Outcome.NO_ANSWER, at(MON, "20:30"), SETTINGS)
    assert second.status is Status.PENDING
    assert second.due_at == at(TUE, "09:00")
    assert second.notes == (PAST_DEADLINE,)
    third = after_attempt(second, Outcome.NO_ANSWER, at(TUE, "09:00"), SETTINGS)
    assert third.notes == (PAST_DEADLINE,)


def test_a_callback_being_dialled_goes_back_to_pending_when_not_answered() -> None:
    dialling = replace(stored(new(), 1), status=Status.DIALLING)
    assert after_attempt(dialling, Outcome.BUSY, at(MON, "10:00"), SETTINGS).status is (
        Status.PENDING
    )


@pytest.mark.parametrize("status", [Status.DONE, Status.FAILED, Status.CANCELLED])
def test_a_try_cannot_be_recorded_on_a_closed_callback(status: Status) -> None:
    closed = replace(stored(new(), 1), status=status)
    err = error_of(lambda: after_attempt(closed, Outcome.ANSWERED, at(MON, "10:00"), SETTINGS))
    assert err.error_id == "callback-closed"
    assert err.details == {"callback_id": 1, "status": str(status)}


# -- complaint progress calls -----------------------------------------------------------------


def test_a_progress_call_is_due_6_hours_before_the_48_hour_deadline() -> None:
    opened = at(MON, "10:00")
    due_from = opened + 42 * HOUR
    assert not progress_call_due(opened, None, False, due_from - 1, SETTINGS)
    assert progress_call_due(opened, None, False, due_from, SETTINGS)
    assert progress_call_due(opened, None, False, opened + 60 * HOUR, SETTINGS)  # overdue


def test_a_resolved_complaint_needs_no_progress_call() -> None:
    opened = at(MON, "10:00")
    assert not progress_call_due(opened, None, True, opened + 47 * HOUR, SETTINGS)


def test_a_given_reply_deadline_and_settings_are_used() -> None:
    opened = at(MON, "10:00")
    deadline = opened + 24 * HOUR
    assert not progress_call_due(opened, deadline, False, deadline - 6 * HOUR - 1, SETTINGS)
    assert progress_call_due(opened, deadline, False, deadline - 6 * HOUR, SETTINGS)
    two_hours = SchedulerSettings(progress_call_before_hours=2)
    assert not progress_call_due(opened, deadline, False, deadline - 3 * HOUR, two_hours)


def test_a_deadline_closer_than_the_notice_is_due_from_the_opening_not_before() -> None:
    opened = at(MON, "10:00")
    deadline = opened + 2 * HOUR
    assert not progress_call_due(opened, deadline, False, opened - MINUTE, SETTINGS)
    assert progress_call_due(opened, deadline, False, opened, SETTINGS)
