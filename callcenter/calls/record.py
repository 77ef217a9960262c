"""The finished call: what the tracker emits and the database stores.

One `CallRecord` per Asterisk `Linkedid`. Times are epoch seconds (floats,
Asterisk's `Timestamp` header) or None when the event stream did not say;
nothing is invented.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

# The note on a call rebuilt from Asterisk's own trail (CEL) instead of seen live.
RECONSTRUCTED = "reconstructed"
# Notes from the dialplan's user events: the caller pressed 1 while held (a press-1
# callback exists), or arrived after hours (a message and its callback exist).
CALLBACK_REQUESTED = "callback-requested"
AFTER_HOURS = "after-hours"
# Notes that say the call was cut off by Asterisk going away, not ended by a party.
# A caller ID or dialled number longer than this is clipped (noted "number-clipped"):
# a trunk may send any text, and one over-long value must never stop the call log.
MAX_NUMBER_LENGTH = 64
CUT_OFF_NOTES = frozenset({"asterisk-restart", "asterisk-shutdown", "ended-while-disconnected"})


class Outcome(enum.StrEnum):
    ANSWERED = "answered"  # an agent answered (at once, or after the system held the caller)
    # The system answered and no agent took the call; the system ended it (after a
    # press-1 request or an after-hours message) or Asterisk cut it off.
    ANSWERED_BY_SYSTEM = "answered_by_system"
    # The system answered (the ring budget was spent) and held the caller, who hung up
    # before any agent took the call: an abandon, counted apart from ringing abandons.
    ABANDONED_AFTER_SYSTEM = "abandoned_after_system"
    ABANDONED = "abandoned"  # the caller hung up while it rang, before any answer
    UNANSWERED = "unanswered"  # ended unanswered for another reason (failed, busy...)
    INTERRUPTED = "interrupted"  # Asterisk restarted or the channels vanished mid-call


# The outcomes of a caller who never talked to a person.
UNREACHED = frozenset(set(Outcome) - {Outcome.ANSWERED})


class Party(enum.StrEnum):
    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


def classify_outcome(
    *,
    agent_took_it: bool,
    system_answered: bool,
    caller_hung_up_first: bool,
    caller_hung_up_unanswered: bool,
    notes: Iterable[str],
) -> Outcome:
    """What happened to a call, from the facts the tracker gathered.

    A caller held by the system who hangs up is an abandon, unless they asked for a
    callback (pressed 1) or left an after-hours message: the system served those.
    """
    said = frozenset(notes)
    if agent_took_it:
        return Outcome.ANSWERED
    if system_answered:
        served = CALLBACK_REQUESTED in said or AFTER_HOURS in said
        if caller_hung_up_first and not served:
            return Outcome.ABANDONED_AFTER_SYSTEM
        return Outcome.ANSWERED_BY_SYSTEM
    if caller_hung_up_unanswered:
        return Outcome.ABANDONED
    if said & CUT_OFF_NOTES:
        return Outcome.INTERRUPTED
    return Outcome.UNANSWERED


def measure_wait(
    *,
    arrived_at: float | None,
    system_answered_at: float | None,
    agent_answered_at: float | None,
    ended_at: float | None,
) -> tuple[float | None, float | None]:
    """(wait, wait after the system answer) in seconds.

    The wait runs from arrival until an agent answered, or until the call ended for a
    caller who never reached one; the second part is the share of it after the system
    answered (greeting, hold music, position), None when the system never answered.
    """
    until = agent_answered_at if agent_answered_at is not None else ended_at
    wait = None if arrived_at is None or until is None else round(max(0.0, until - arrived_at), 3)
    held = None
    if system_answered_at is not None and until is not None:
        held = round(max(0.0, until - system_answered_at), 3)
    return wait, held


@dataclass(frozen=True)
class RecordingSegment:
    """One recording file of a call, keyed by (linkedid, uniqueid, leg)."""

    linkedid: str
    uniqueid: str
    # "caller"/"agent": the mix taken on that channel; "agent-voice"/"customer-voice":
    # one party alone (MixMonitor r()/t() on the agent channel).
    leg: str
    path: str  # relative to the recordings directory
    started_at: float | None = None


@dataclass(frozen=True)
class CallRecord:
    linkedid: str
    direction: Direction
    caller_number: str | None
    caller_name: str | None
    dialled_number: str | None
    queue: str | None
    arrived_at: float | None
    answered_at: float | None
    ended_at: float | None
    answer_seconds: float | None
    rings_to_answer: int | None
    answered_by: Party | None
    agent: str | None  # PJSIP endpoint / staff number of the agent who took the call
    agent_name: str | None
    hold_seconds: float | None
    talk_seconds: float | None
    hangup_first: Party | None
    outcome: Outcome
    hangup_cause: int | None = None
    recordings: tuple[RecordingSegment, ...] = field(default=())
    # Why the record is less than complete ("asterisk-restart", "resync-missing", ...),
    # and what the dialplan said of it ("callback-requested", "after-hours", ...).
    notes: tuple[str, ...] = field(default=())
    # Inbound: seconds from arrival until an agent answered, or until the end for a
    # caller who reached nobody; and the part of it after the system answered (None
    # when the system never answered). See `measure_wait`.
    wait_seconds: float | None = None
    system_wait_seconds: float | None = None

    @property
    def reconstructed(self) -> bool:
        return RECONSTRUCTED in self.notes

    @property
    def reached_person(self) -> bool:
        return self.outcome is Outcome.ANSWERED

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as their values, recordings as dicts)."""
        data = asdict(self)
        for key in ("direction", "answered_by", "hangup_first", "outcome"):
            value = getattr(self, key)
            data[key] = None if value is None else value.value
        data["recordings"] = [asdict(r) for r in self.recordings]
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallRecord:
        return cls(
            linkedid=data["linkedid"],
            direction=Direction(data["direction"]),
            caller_number=data.get("caller_number"),
            caller_name=data.get("caller_name"),
            dialled_number=data.get("dialled_number"),
            queue=data.get("queue"),
            arrived_at=data.get("arrived_at"),
            answered_at=data.get("answered_at"),
            ended_at=data.get("ended_at"),
            answer_seconds=data.get("answer_seconds"),
            rings_to_answer=data.get("rings_to_answer"),
            answered_by=Party(data["answered_by"]) if data.get("answered_by") else None,
            agent=data.get("agent"),
            agent_name=data.get("agent_name"),
            hold_seconds=data.get("hold_seconds"),
            talk_seconds=data.get("talk_seconds"),
            hangup_first=Party(data["hangup_first"]) if data.get("hangup_first") else None,
            outcome=Outcome(data["outcome"]),
            hangup_cause=data.get("hangup_cause"),
            recordings=tuple(RecordingSegment(**r) for r in data.get("recordings", ())),
            notes=tuple(data.get("notes", ())),
            wait_seconds=data.get("wait_seconds"),
            system_wait_seconds=data.get("system_wait_seconds"),
        )
