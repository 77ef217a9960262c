"""The finished call: what the tracker emits and the database stores.

One `CallRecord` per Asterisk `Linkedid`. Times are epoch seconds (floats,
Asterisk's `Timestamp` header) or None when the event stream did not say;
nothing is invented.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

# The note on a call rebuilt from Asterisk's own trail (CEL) instead of seen live.
RECONSTRUCTED = "reconstructed"


class Outcome(enum.StrEnum):
    ANSWERED = "answered"  # an agent answered
    ANSWERED_BY_SYSTEM = "answered_by_system"  # the system answered, no agent took it
    ABANDONED = "abandoned"  # the caller hung up before any answer
    UNANSWERED = "unanswered"  # ended unanswered for another reason (failed, busy...)
    INTERRUPTED = "interrupted"  # Asterisk restarted or the channels vanished mid-call


class Party(enum.StrEnum):
    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


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
    # Why the record is less than complete ("asterisk-restart", "resync-missing", ...).
    notes: tuple[str, ...] = field(default=())

    @property
    def reconstructed(self) -> bool:
        return RECONSTRUCTED in self.notes

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
        )
