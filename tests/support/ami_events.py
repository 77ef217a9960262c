"""AMI events shaped like Asterisk 22's, built by hand, and the tracker run over them.

One inbound call to the support queue: `arrival()` (the caller's channel, its
recording, the queue join), `agent_answers(at)` (an agent's leg rings, answers,
records), `hangups(at, first, reason)`; `ev` builds any other event of the
call, `run` feeds a sequence to a CallTracker and drains it.
"""

from __future__ import annotations

from collections.abc import Sequence

from callcenter.ami.message import Message
from callcenter.calls.record import CallRecord
from callcenter.calls.tracker import CallTracker

CALLER = "1700000000.10"
AGENT = "1700000000.11"
T0 = 1_700_000_000.0


def ev(name: str, at: float | None, uniqueid: str = CALLER, **headers: str) -> Message:
    base = {"Event": name, "Uniqueid": uniqueid, "Linkedid": CALLER}
    if at is not None:
        base["Timestamp"] = f"{T0 + at:.6f}"
    base.update(headers)
    return Message(base)


def run(events: Sequence[Message], tracker: CallTracker | None = None) -> list[CallRecord]:
    tracker = tracker or CallTracker()
    out: list[CallRecord] = []
    for event in events:
        out.extend(tracker.feed(event))
    out.extend(tracker.drain())
    return out


def arrival(at: float = 0.0) -> list[Message]:
    return [
        ev(
            "Newchannel",
            at,
            Channel="PJSIP/2001-00000001",
            CallerIDNum="13800138000",
            CallerIDName="張三",
            Exten="600",
            Context="from-callers",
        ),
        ev(
            "UserEvent",
            at + 0.01,
            UserEvent="CallRecording",
            Leg="caller",
            File="2023/11/14/1700000000.10/1700000000.10-caller.wav",
        ),
        ev("QueueCallerJoin", at + 0.02, Queue="support", Position="1"),
    ]


def agent_answers(at: float, member: str = "1001") -> list[Message]:
    return [
        ev(
            "AgentCalled",
            at - 2,
            DestUniqueid=AGENT,
            Queue="support",
            Interface=f"PJSIP/{member}",
            MemberName=member,
        ),
        ev("Newchannel", at - 2, AGENT, Channel=f"PJSIP/{member}-00000002", Context="agents"),
        ev("Newstate", at, AGENT, ChannelState="6"),
        ev("Newstate", at + 0.01, ChannelState="6"),
        ev(
            "UserEvent",
            at + 0.02,
            AGENT,
            UserEvent="CallRecording",
            Leg="agent",
            File=f"2023/11/14/{CALLER}/{AGENT}-agent.wav",
        ),
        ev(
            "AgentConnect",
            at + 0.03,
            DestUniqueid=AGENT,
            Queue="support",
            Interface=f"PJSIP/{member}",
            MemberName=member,
            HoldTime=str(int(at)),
            RingTime="2",
        ),
    ]


def hangups(at: float, first: str, reason: str) -> list[Message]:
    order = [CALLER, AGENT] if first == CALLER else [AGENT, CALLER]
    return [
        ev("HangupRequest", at, order[0]),
        ev("Hangup", at + 0.01, order[0], Cause="16"),
        ev("Hangup", at + 0.02, order[1], Cause="16"),
        ev(
            "AgentComplete",
            at + 0.03,
            Queue="support",
            Interface="PJSIP/1001",
            MemberName="1001",
            TalkTime="20",
            HoldTime="4",
            Reason=reason,
        ),
    ]
