"""Per-call greeting-script facts that need no ASR, as values: what was measured and the
flags it raised. Pure; other features read the flags (QA checks, the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callcenter.calls.record import CallRecord, Outcome, Party

DEAD_AIR_FLAG = "dead-air"
AGENT_HUNG_UP_FIRST = "agent-hung-up-first"
NO_AGENT_VOICE = "agent-voice-not-recorded"


@dataclass(frozen=True)
class Compliance:
    linkedid: str
    staff_no: str | None
    connected_at: float | None
    dead_air_seconds: float | None
    agent_hung_up_first: bool | None
    greeting_played: bool
    flags: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["flags"] = list(self.flags)
        return data


def voice_path(agent_leg_path: str) -> str:
    """`.../<uniqueid>-agent.wav` -> `.../<uniqueid>-agent-voice.wav` (the dialplan's name)."""
    return agent_leg_path.removesuffix(".wav") + "-voice.wav"


def compliance_facts(
    record: CallRecord,
    dead_air: float | None,
    *,
    voice_found: bool,
    max_dead_air: float,
    staff_no: str | None = None,
) -> Compliance | None:
    """The facts for an answered agent call; None for calls no agent talked on."""
    if record.outcome is not Outcome.ANSWERED or record.agent is None:
        return None
    flags: list[str] = []
    if not voice_found:
        flags.append(NO_AGENT_VOICE)
    elif dead_air is None or dead_air > max_dead_air:
        flags.append(DEAD_AIR_FLAG)
    hung_up_first = None if record.hangup_first is None else record.hangup_first is Party.AGENT
    if hung_up_first:
        flags.append(AGENT_HUNG_UP_FIRST)
    return Compliance(
        linkedid=record.linkedid,
        staff_no=staff_no or record.agent,
        connected_at=record.answered_at,
        dead_air_seconds=None if dead_air is None else round(dead_air, 2),
        agent_hung_up_first=hung_up_first,
        greeting_played=True,
        flags=tuple(flags),
    )
