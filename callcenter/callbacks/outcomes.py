"""What a callback try came to, read from Asterisk: Originate's reason, the hang-up cause, Dial().

Pure: the values come off the wire (AMI events, the dialplan's hang-up handler),
so nothing here raises on an unknown one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class Outcome(enum.StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"


# OriginateResponse `Reason`: the last control frame Asterisk saw on the new
# channel (enum ast_control_frame_type). `None`: the reason alone does not say;
# the hang-up cause decides, else the fallback after the table.
ORIGINATE_REASONS: Mapping[int, Outcome | None] = {
    0: None,  # the channel could not be created or dialled (fallback: failed)
    1: None,  # hung up before answering (fallback: no-answer)
    3: Outcome.NO_ANSWER,  # rang until the originate timeout
    4: Outcome.ANSWERED,
    5: Outcome.BUSY,
    8: Outcome.FAILED,  # congestion: the network, not the customer
}
_REASON_FALLBACK: Mapping[int, Outcome] = {1: Outcome.NO_ANSWER}

# Q.850 hang-up causes (Asterisk's HANGUPCAUSE / the Hangup event's Cause).
HANGUP_CAUSES: Mapping[int, Outcome] = {
    # 16 normal clearing without an answer reason: nobody took the call (some
    # carriers clear a ring timeout this way). An answered call is only ever
    # recorded from Reason 4, so a callback is never closed on a guess.
    16: Outcome.NO_ANSWER,
    17: Outcome.BUSY,  # user busy
    18: Outcome.NO_ANSWER,  # no user responding
    19: Outcome.NO_ANSWER,  # no answer (alerted)
    20: Outcome.NO_ANSWER,  # subscriber absent (phone off, out of coverage)
    # 21 call rejected: the customer declined the call. Busy, not failed: the
    # person is there but cannot talk now, so a later try makes sense.
    21: Outcome.BUSY,
    1: Outcome.FAILED,  # unallocated (invalid) number
    2: Outcome.FAILED,  # no route to the network
    3: Outcome.FAILED,  # no route to the destination
    22: Outcome.FAILED,  # number changed
    27: Outcome.FAILED,  # destination out of order
    28: Outcome.FAILED,  # invalid number format
    34: Outcome.FAILED,  # no circuit available (congestion)
    38: Outcome.FAILED,  # network out of order
    41: Outcome.FAILED,  # temporary failure
    42: Outcome.FAILED,  # switching equipment congestion
}


def _code(value: str | int | None) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def outcome_from_originate(reason: str | int | None, hangup_cause: int | None) -> Outcome:
    """The outcome of a try from OriginateResponse's `Reason` and the Q.850 hang-up cause.

    A reason that says it (3 no answer, 4 answered, 5 busy, 8 congestion) wins;
    otherwise (0, 1, unknown, missing) the cause decides via HANGUP_CAUSES;
    with neither, 1 means no answer and anything else failed. Never raises: the
    values come off the wire.
    """
    code = _code(reason)
    by_reason = ORIGINATE_REASONS.get(code) if code is not None else None
    if by_reason is not None:
        return by_reason
    by_cause = HANGUP_CAUSES.get(hangup_cause) if hangup_cause is not None else None
    if by_cause is not None:
        return by_cause
    return _REASON_FALLBACK.get(code, Outcome.FAILED) if code is not None else Outcome.FAILED


# Dial()'s DIALSTATUS -> the attempt's outcome.
DIALSTATUS_OUTCOMES: Mapping[str, Outcome] = {
    "ANSWER": Outcome.ANSWERED,
    "NOANSWER": Outcome.NO_ANSWER,
    "CANCEL": Outcome.NO_ANSWER,  # the agent gave up while it rang
    "BUSY": Outcome.BUSY,
    "CONGESTION": Outcome.FAILED,
    "CHANUNAVAIL": Outcome.FAILED,
    "INVALIDARGS": Outcome.FAILED,
}


def outcome_of(dialstatus: str) -> Outcome | None:
    """None: the customer was never dialled (the agent hung up first)."""
    return DIALSTATUS_OUTCOMES.get(dialstatus.strip().upper()) if dialstatus.strip() else None
