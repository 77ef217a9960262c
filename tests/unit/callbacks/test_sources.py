"""The callback sources' decisions: which answered calls get a satisfaction follow-up (a
stable draw at the configured share), which finished calls get an abandoned callback."""

from __future__ import annotations

import pytest

from callcenter.callbacks.sources import (
    UNDIALLABLE,
    NoCallback,
    abandoned_callback_for,
    sampled_for_follow_up,
)
from callcenter.calls.record import AFTER_HOURS, CALLBACK_REQUESTED, CallRecord, Direction
from callcenter.calls.record import Outcome as CallOutcome
from callcenter.config import ConfigError, load
from tests.support.records import make_record


def test_the_draw_is_stable_per_call_and_close_to_the_share() -> None:
    ids = [f"17000{n:05d}.{n % 7}" for n in range(20_000)]
    picked = [i for i in ids if sampled_for_follow_up(i, 0.1)]
    assert 0.09 < len(picked) / len(ids) < 0.11
    assert picked == [i for i in ids if sampled_for_follow_up(i, 0.1)]  # same calls again
    assert not any(sampled_for_follow_up(i, 0.0) for i in ids)
    assert all(sampled_for_follow_up(i, 1.0) for i in ids)
    # A bigger share keeps every call a smaller one picked.
    assert set(picked) <= {i for i in ids if sampled_for_follow_up(i, 0.3)}


def test_the_share_must_be_between_0_and_1() -> None:
    assert load({"CALLCENTER_FOLLOW_UP_SHARE": "0.25"}).callbacks.follow_up_share == 0.25
    for bad in ("1.5", "-0.1", "a lot"):
        with pytest.raises(ConfigError, match="CALLCENTER_FOLLOW_UP_SHARE"):
            load({"CALLCENTER_FOLLOW_UP_SHARE": bad})


# -- which finished calls get an abandoned callback -------------------------------------


def _call(
    outcome: CallOutcome, number: str | None = "13800138000", **changes: object
) -> CallRecord:
    return make_record("1800000000.1", outcome=outcome, caller_number=number, **changes)


def test_every_caller_who_reached_nobody_gets_an_abandoned_callback() -> None:
    for outcome in (
        CallOutcome.ABANDONED,  # hung up while it rang
        CallOutcome.ABANDONED_AFTER_SYSTEM,  # hung up while the system held them
        CallOutcome.ANSWERED_BY_SYSTEM,  # the system ended it (Asterisk went away)
        CallOutcome.UNANSWERED,  # rang out, failed
        CallOutcome.INTERRUPTED,  # cut off
    ):
        assert abandoned_callback_for(_call(outcome)) is None, outcome


def test_a_caller_who_talked_to_an_agent_gets_none() -> None:
    assert abandoned_callback_for(_call(CallOutcome.ANSWERED)) is NoCallback.REACHED_PERSON


def test_a_call_with_its_own_callback_gets_no_second_one() -> None:
    pressed = _call(CallOutcome.ANSWERED_BY_SYSTEM, notes=(CALLBACK_REQUESTED,))
    assert abandoned_callback_for(pressed) is NoCallback.PRESSED_1
    # Pressed 1, then hung up during the thank-you: still the press-1 callback only.
    hung_up = _call(CallOutcome.ABANDONED_AFTER_SYSTEM, notes=(CALLBACK_REQUESTED,))
    assert abandoned_callback_for(hung_up) is NoCallback.PRESSED_1
    message = _call(CallOutcome.ANSWERED_BY_SYSTEM, notes=(AFTER_HOURS,))
    assert abandoned_callback_for(message) is NoCallback.AFTER_HOURS


def test_outbound_and_internal_calls_are_not_called_back() -> None:
    for direction in (Direction.OUTBOUND, Direction.INTERNAL):
        record = _call(CallOutcome.ABANDONED, direction=direction)
        assert abandoned_callback_for(record) is NoCallback.NOT_INBOUND


def test_callers_that_cannot_be_dialled_are_skipped_with_a_reason() -> None:
    for number in (None, "", "  "):
        record = _call(CallOutcome.ABANDONED, number)
        assert abandoned_callback_for(record) is NoCallback.NO_CALLER_ID, number
    for number in ("anonymous", "Anonymous", "withheld", "restricted", "unknown", "ACME Trunk"):
        record = _call(CallOutcome.ABANDONED_AFTER_SYSTEM, number)
        assert abandoned_callback_for(record) is NoCallback.NOT_DIALLABLE, number
    assert {NoCallback.NO_CALLER_ID, NoCallback.NOT_DIALLABLE} == UNDIALLABLE
    # Spelled with separators, it is a number.
    assert abandoned_callback_for(_call(CallOutcome.ABANDONED, "+86 (138) 0013-8000")) is None
