"""What a callback try came to: Originate reasons, hang-up causes, Dial()'s DIALSTATUS."""

from __future__ import annotations

import pytest

from callcenter.callbacks.outcomes import (
    HANGUP_CAUSES,
    ORIGINATE_REASONS,
    Outcome,
    outcome_from_originate,
    outcome_of,
)

# -- outcomes from AMI ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "cause", "expected"),
    [
        ("4", None, Outcome.ANSWERED),
        (4, 16, Outcome.ANSWERED),
        (" 4 ", None, Outcome.ANSWERED),
        ("5", None, Outcome.BUSY),
        ("3", None, Outcome.NO_ANSWER),
        ("3", 17, Outcome.NO_ANSWER),  # a reason that says it wins over the cause
        ("8", None, Outcome.FAILED),
        ("8", 16, Outcome.FAILED),
        ("0", None, Outcome.FAILED),
        ("0", 17, Outcome.BUSY),  # 0 says nothing: the cause decides
        ("0", 1, Outcome.FAILED),
        ("1", None, Outcome.NO_ANSWER),
        ("1", 16, Outcome.NO_ANSWER),
        ("1", 21, Outcome.BUSY),
        ("1", 17, Outcome.BUSY),
        (None, 16, Outcome.NO_ANSWER),
        (None, 17, Outcome.BUSY),
        (None, 18, Outcome.NO_ANSWER),
        (None, 19, Outcome.NO_ANSWER),
        (None, 21, Outcome.BUSY),
        (None, 1, Outcome.FAILED),
        (None, 3, Outcome.FAILED),
        (None, 28, Outcome.FAILED),
        (None, 34, Outcome.FAILED),
        (None, 38, Outcome.FAILED),
        (None, 999, Outcome.FAILED),
        (None, None, Outcome.FAILED),
        ("7", None, Outcome.FAILED),  # an unknown reason
        ("7", 19, Outcome.NO_ANSWER),
        ("Failure", None, Outcome.FAILED),
        ("", 17, Outcome.BUSY),
        ("٤", None, Outcome.FAILED),  # a non-ASCII digit is not a reason code
    ],
)
def test_originate_reasons_and_hangup_causes_map_to_outcomes(
    reason: str | int | None, cause: int | None, expected: Outcome
) -> None:
    assert outcome_from_originate(reason, cause) is expected


def test_every_outcome_is_reachable_from_the_tables() -> None:
    reachable = {v for v in ORIGINATE_REASONS.values() if v is not None}
    reachable |= set(HANGUP_CAUSES.values())
    assert reachable == set(Outcome)


def test_dial_statuses_map_to_attempt_outcomes() -> None:
    assert outcome_of("ANSWER") is Outcome.ANSWERED
    assert outcome_of("noanswer") is Outcome.NO_ANSWER
    assert outcome_of("BUSY") is Outcome.BUSY
    assert outcome_of("CHANUNAVAIL") is Outcome.FAILED
    assert outcome_of("") is None  # the customer was never dialled
